/* analyse.h - what a media file contains, measured with stock GStreamer
 * (decodebin, spectrum), for the archiver's tests: streams and codecs,
 * duration, per-interval magnitude at given frequencies, beep onsets, and
 * flash onsets in a region of the picture. */
#pragma once

#include <glib.h>
#include <stdbool.h>

#define ANALYSE_MAX_TONES 8

struct analyse_region {
    double x, y, w, h; /* fractions of the picture */
};

struct analyse_result {
    char *video_caps; /* "video/x-vp8, ..." of the demuxed stream, or NULL */
    char *audio_caps;
    double duration_s; /* from GstDiscoverer */
    int width, height;
    /* spectrum: one row per 250 ms interval, magnitude (dB) per tone */
    GArray *spectrum_t;  /* double: interval end, s */
    GArray *spectrum_db; /* double[n_tones] per interval */
    unsigned n_tones;
    GArray *beeps;         /* double: onsets (s) of the first tone's bursts */
    GArray *flashes;       /* double: onsets (s) of a white region */
    double label_max_luma; /* brightest pixel of the label region over all frames */
    unsigned frames;       /* decoded video frames */
};

/* Discovers and decodes path; tones[0] is the beep frequency. FALSE with
 * error set when the file cannot be read. */
gboolean analyse_file(const char *path, const double *tones, unsigned n_tones,
                      const struct analyse_region *region, struct analyse_result *out,
                      GError **error);
/* The same, also measuring label (may be NULL) into out->label_max_luma. */
gboolean analyse_file_label(const char *path, const double *tones, unsigned n_tones,
                            const struct analyse_region *region, const struct analyse_region *label,
                            struct analyse_result *out, GError **error);
void analyse_result_clear(struct analyse_result *r);

/* Loudest magnitude (dB) of tone i within [from_s, to_s). */
double analyse_peak_db(const struct analyse_result *r, unsigned tone, double from_s, double to_s);

/* Largest |flash - nearest beep| over flashes, in s; sets *pairs. */
double analyse_worst_sync(const struct analyse_result *r, unsigned *pairs);
