// twos (ip_vs_twos.c, mainline since 6.5): what its tests need beyond the registered name, a
// pick with given random words and a scheduler with a given seed.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "sched/scheduler.h"

namespace vsd {

// One twos decision from two raw 32-bit random words, each reduced modulo 1 + the sum of the
// available weights as the kernel reduces prandom_u32(). -1 when nothing is available.
int twos_choose(std::span<const SchedDest> dests, uint32_t random1, uint32_t random2);

// A twos scheduler drawing from std::mt19937 seeded with seed (the registered one seeds from
// std::random_device), so that a test can replay its draws.
std::unique_ptr<Scheduler> make_seeded_twos(uint32_t seed);

}  // namespace vsd
