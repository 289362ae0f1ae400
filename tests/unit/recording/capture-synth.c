/* capture-synth - writes a recording directory of real media for the
 * archiver (fixture.h): capture-synth DIR [PARTICIPANTS [SECONDS]].
 * Used by bench/archiver.sh and by hand to try vej-archiver. */
#include "tests/unit/recording/fixture.h"

#include <gst/gst.h>
#include <stdio.h>

int
main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: capture-synth DIR [PARTICIPANTS (1-4)] [SECONDS]\n");
        return 2;
    }
    gint64 n = 4, seconds = 20;
    if ((argc > 2 && (!g_ascii_string_to_signed(argv[2], 10, 1, 4, &n, NULL))) ||
        (argc > 3 && !g_ascii_string_to_signed(argv[3], 10, 4, 7200, &seconds, NULL))) {
        fprintf(stderr, "capture-synth: PARTICIPANTS is 1-4, SECONDS 4-7200\n");
        return 2;
    }
    gst_init(NULL, NULL);
    struct vej_fixture fx;
    vej_fixture_default(&fx, (unsigned)n, (double)seconds);
    GError *error = NULL;
    if (!vej_fixture_build(&fx, argv[1], &error)) {
        fprintf(stderr, "capture-synth: %s\n", error->message);
        g_error_free(error);
        return 1;
    }
    return 0;
}
