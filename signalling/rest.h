/* rest.h - the REST API under /api/v1 (docs/api.md). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct vej_http_req;
struct vej_user;
typedef struct _GError GError;

/* Routes one request; `body` is a JSON object for POST/PATCH, else NULL
 * (transfer none). Always answers (possibly later, for logins). */
void vej__rest_dispatch(struct vej_http_req *r, const char *method, const char *path, json_t *body);

/* Query parameter by name, percent-decoded. */
bool vej__http_query(struct vej_http_req *r, const char *name, char *out, size_t out_cap);

/* rest.c's helpers for the route files: a 400 naming a field; a store
 * error as 404/409/500; the `limit` query (-1: invalid). */
void vej__rest_field_error(struct vej_http_req *r, const char *field, const char *why);
void vej__rest_store_error(struct vej_http_req *r, GError *error, const char *what);
int vej__rest_page_limit(struct vej_http_req *r);

/* rest-users.c: staff accounts (admin routes of rest.c's table). */
void vej__rest_user_list(struct vej_http_req *r, struct vej_user *user, char *ids[], json_t *body);
void vej__rest_user_create(struct vej_http_req *r, struct vej_user *user, char *ids[],
                           json_t *body);
void vej__rest_user_patch(struct vej_http_req *r, struct vej_user *user, char *ids[], json_t *body);
void vej__rest_user_password_reset(struct vej_http_req *r, struct vej_user *user, char *ids[],
                                   json_t *body);
void vej__rest_user_revoke(struct vej_http_req *r, struct vej_user *user, char *ids[],
                           json_t *body);
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

/* rest-totp.c: the second factor (enrol and confirm: any staff, also while
 * enrolment is pending; reset: admin). */
void vej__rest_totp_enrol(struct vej_http_req *r, struct vej_user *user, char *ids[], json_t *body);
void vej__rest_totp_confirm(struct vej_http_req *r, struct vej_user *user, char *ids[],
                            json_t *body);
void vej__rest_totp_reset(struct vej_http_req *r, struct vej_user *user, char *ids[], json_t *body);
