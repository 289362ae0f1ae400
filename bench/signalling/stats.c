/* bench/signalling/stats.c - latency samples and their quantiles.
 *
 * Every latency is kept (tens of thousands at most) and sorted once, so the
 * quantiles are exact nearest-rank values, not histogram estimates. */
#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const char *const req_names[REQ_N] = {
    [REQ_READ] = "read (REST GET hearing)",
    [REQ_JOIN] = "hearing.join (rejoin)",
    [REQ_MOVE] = "hearing.move",
    [REQ_MUTE] = "hearing.mute",
    [REQ_HELLO] = "session.hello",
    [REQ_FIRST_JOIN] = "hearing.join (first)",
    [REQ_ADMIT] = "hearing.admit",
    [REQ_WEBRTC] = "webrtc.subscribe (busy)",
};

const char *
bench_req_name(enum bench_req k)
{
    return (unsigned)k < REQ_N ? req_names[k] : "?";
}

int64_t
bench_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void
bench_samples_add(struct bench_samples *s, double us)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->us = g_renew(double, s->us, s->cap);
    }
    s->us[s->n++] = us;
}

void
bench_samples_error(struct bench_samples *s, int code)
{
    s->errors++;
    for (size_t i = 0; i < G_N_ELEMENTS(s->error_codes); i++) {
        if (s->error_codes[i] == 0 || s->error_code_values[i] == code) {
            s->error_code_values[i] = code;
            s->error_codes[i]++;
            return;
        }
    }
}

void
bench_samples_merge(struct bench_samples *dst, struct bench_samples *src)
{
    for (size_t i = 0; i < src->n; i++)
        bench_samples_add(dst, src->us[i]);
    dst->unanswered += src->unanswered;
    for (size_t i = 0; i < G_N_ELEMENTS(src->error_codes); i++)
        for (uint64_t j = 0; j < src->error_codes[i]; j++)
            bench_samples_error(dst, src->error_code_values[i]);
    bench_samples_clear(src);
}

void
bench_samples_clear(struct bench_samples *s)
{
    g_free(s->us);
    *s = (struct bench_samples){0};
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double
bench_samples_quantile(struct bench_samples *s, double q)
{
    if (s->n == 0)
        return 0;
    qsort(s->us, s->n, sizeof *s->us, cmp_double);
    size_t rank = (size_t)ceil(q * (double)s->n);
    if (rank < 1)
        rank = 1;
    if (rank > s->n)
        rank = s->n;
    return s->us[rank - 1];
}

void
bench_samples_print_header(void)
{
    printf("  %-26s %7s %6s %6s %9s %9s %9s %9s\n", "request", "n", "errors", "unansw", "p50 ms",
           "p90 ms", "p99 ms", "max ms");
}

void
bench_samples_print_row(const char *name, struct bench_samples *s)
{
    printf("  %-26s %7zu %6" G_GUINT64_FORMAT " %6" G_GUINT64_FORMAT " %9.2f %9.2f %9.2f %9.2f\n",
           name, s->n, s->errors, s->unanswered, bench_samples_quantile(s, 0.50) / 1000,
           bench_samples_quantile(s, 0.90) / 1000, bench_samples_quantile(s, 0.99) / 1000,
           bench_samples_quantile(s, 1.0) / 1000);
    for (size_t i = 0; i < G_N_ELEMENTS(s->error_codes) && s->error_codes[i]; i++)
        printf("  %-26s   error %d x %" G_GUINT64_FORMAT "\n", "", s->error_code_values[i],
               s->error_codes[i]);
}
