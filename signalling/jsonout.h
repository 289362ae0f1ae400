/* jsonout.h - compact JSON text of a jansson value (the bytes of
 * json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY), written faster). */
#pragma once

#include <jansson.h>
#include <stddef.h>

/* The compact text of `v` (transfer full: free()), its length in *len if
 * len is not NULL; NULL if v is NULL, nested deeper than 2048 levels (what
 * jansson's parser accepts), or memory runs out. Strings are written as stored: jansson has checked
 * their UTF-8 when they were made (no _nocheck strings here). */
char *vej_json_dump_compact(const json_t *v, size_t *len);
