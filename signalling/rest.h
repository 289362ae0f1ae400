/* rest.h - the REST API under /api/v1 (docs/api.md). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct vej_http_req;

/* Routes one request; `body` is a JSON object for POST/PATCH, else NULL
 * (transfer none). Always answers (possibly later, for logins). */
void vej__rest_dispatch(struct vej_http_req *r, const char *method, const char *path, json_t *body);

/* Query parameter by name, percent-decoded. */
bool vej__http_query(struct vej_http_req *r, const char *name, char *out, size_t out_cap);

/* rest-recordings.c: the evidential routes (docs/api.md "Recordings").
 * Handles every path under /api/v1/recordings and answers; FALSE when the
 * path is not one of them. */
bool vej__rest_recordings_dispatch(struct vej_http_req *r, const char *method, const char *path,
                                   json_t *body);
struct vej_user;
/* GET /api/v1/keys (any staff role). */
void vej__rest_keys(struct vej_http_req *r, struct vej_user *user, char *ids[], json_t *body);
/* The last signed audit head as JSON, or JSON null (transfer full). */
struct vej_signalling;
json_t *vej__rest_signed_head_json(struct vej_signalling *s);
