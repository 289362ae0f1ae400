/* worker.h - media worker threads.
 *
 * A worker is a thread running its own GMainContext; the libnice agents,
 * DTLS and SRTP state of every peer placed on it live there and are only
 * touched from that thread. Other threads reach a worker only through
 * vej_worker_post() (a closure queued on its context) or
 * vej_worker_call(), which waits for the closure to run: the signalling
 * thread may wait on a worker, a worker never waits on anyone.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

G_BEGIN_DECLS

struct vej_worker;

/* Starts a worker thread named "vej-media-N". */
struct vej_worker *vej_worker_new(unsigned index, GError **error);

/* Stops the loop after everything posted before has run, joins the
 * thread and frees. Must not be called from the worker itself. */
void vej_worker_free(struct vej_worker *w);

unsigned vej_worker_index(const struct vej_worker *w);
GMainContext *vej_worker_context(struct vej_worker *w);

/* True when called on this worker's thread. */
bool vej_worker_is_current(const struct vej_worker *w);

/* Queues fn(data) to run on the worker; thread-safe, never blocks. */
void vej_worker_post(struct vej_worker *w, void (*fn)(void *data), void *data);

/* Runs fn(data) on the worker and returns when it has run. Runs it at once
 * when called on the worker itself. */
void vej_worker_call(struct vej_worker *w, void (*fn)(void *data), void *data);

G_END_DECLS
