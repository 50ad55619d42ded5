// SPDX-License-Identifier: Apache-2.0
// test_learn_pendulum.c -- MAAC learns inverted_pendulum: evaluation return >= 950
// within 5,000 env steps for seed 0 (the small-plant defaults of learner_config.c).
//
// Deterministic evaluation (5 episodes, tanh(mu)) every 250 env steps on a separate
// plant instance; the run stops at the first evaluation that reaches 950 (at 2000 env
// steps, about 8 s; 35 s under ASan+UBSan, so not labelled slow).
#include <stdio.h>

#include "cli/trainer.h"
#include "test_util.h"

int main(void) {
    LearnerConfig c;
    learner_config_default(&c, "inverted_pendulum");
    c.seed = 0;
    TrainOpts o;
    train_opts_default(&o);
    o.steps = 5000;
    o.eval_every = 250;
    o.eval_episodes = 5;
    o.progress = 1;
    o.progress_every_s = 15;
    o.stop_at_return = 950.0f;
    TrainResult tr;
    MaacErr me = {""};
    int r = trainer_run(&c, &o, &tr, &me);
    CHECK(r == 0, "trainer_run: %s", me.msg);
    printf("inverted_pendulum seed 0: solved at %ld env steps (best eval %.1f, last %.1f), "
           "%.1f s (model %.1f, policy %.1f, Q %.1f, rollouts %.1f)\n",
           tr.first_solved_step, (double)tr.best_eval, (double)tr.eval_mean, tr.t_total,
           tr.ls.t_model, tr.ls.t_policy, tr.ls.t_q, tr.ls.t_rollout);
    CHECK(tr.first_solved_step > 0 && tr.first_solved_step <= 5000,
          "eval return >= 950 within 5000 steps (best %.1f)", (double)tr.best_eval);
    return test_summary("test_learn_pendulum");
}
