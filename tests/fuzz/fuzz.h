/* fuzz.h - the libFuzzer entry point every target in tests/fuzz defines.
 *
 * Each fuzz_NAME.c defines it; it is linked either with libFuzzer
 * (-Dfuzzing=true, clang) or with replay.c, which feeds it the stored
 * corpus in every normal `meson test`. A target reports a broken invariant
 * by aborting. */
#pragma once

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
