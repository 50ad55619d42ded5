// SPDX-License-Identifier: Apache-2.0
// plant_util.h -- tests and benchmarks: the PlantModel of a built-in plant by name.
#ifndef MAAC_TEST_PLANT_UTIL_H
#define MAAC_TEST_PLANT_UTIL_H

#include <stdio.h>
#include <stdlib.h>

#include "sim/plant_builtin.h"

// The built-in plant's model (static storage, one of 8 slots reused in turn); exits
// when the plant is unknown.
static inline const PlantModel* test_builtin_plant(const char* name) {
    static PlantModel slots[8];
    static int next;
    PlantModel* p = &slots[next++ % 8];
    MaacErr me = {""};
    if (sim_plant_model_by_name(name, p, &me) != 0) {
        fprintf(stderr, "plant %s: %s\n", name, me.msg);
        exit(1);
    }
    return p;
}

// The model of a created sim plant (same slots).
static inline const PlantModel* test_spec_plant(const SimSpec* spec) {
    return test_builtin_plant(spec->name);
}

#endif
