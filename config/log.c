/* log.c - the process-wide log writer: one line per message on standard
 * error, "2026-11-24T12:00:00.123Z LEVEL domain: message". Callers never log
 * secrets, tokens or key material; this writer cannot tell. */
#include "config/config.h"
#include "config/config-priv.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* The most verbose level printed; messages with a lower-priority level are
 * dropped. Set by vej_log_init, read by every thread. */
static gint threshold = G_LOG_LEVEL_INFO;

GLogLevelFlags
vej__log_threshold(const char *name)
{
    if (g_strcmp0(name, "error") == 0)
        return G_LOG_LEVEL_CRITICAL;
    if (g_strcmp0(name, "warning") == 0)
        return G_LOG_LEVEL_WARNING;
    if (g_strcmp0(name, "info") == 0)
        return G_LOG_LEVEL_INFO;
    if (g_strcmp0(name, "debug") == 0)
        return G_LOG_LEVEL_DEBUG;
    return 0;
}

static const char *
level_name(GLogLevelFlags level)
{
    if (level & G_LOG_LEVEL_ERROR)
        return "FATAL";
    if (level & G_LOG_LEVEL_CRITICAL)
        return "ERROR";
    if (level & G_LOG_LEVEL_WARNING)
        return "WARNING";
    if (level & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO))
        return "INFO";
    return "DEBUG";
}

/* GLib's level bits grow as priority falls (ERROR = 1<<2 ... DEBUG = 1<<7);
 * g_message() is printed as INFO. */
static gboolean
level_enabled(GLogLevelFlags level)
{
    GLogLevelFlags lowest = level & G_LOG_LEVEL_MASK;
    if (lowest & G_LOG_LEVEL_MESSAGE)
        lowest = G_LOG_LEVEL_INFO;
    return lowest != 0 && lowest <= (GLogLevelFlags)g_atomic_int_get(&threshold);
}

void
vej__log_format(GString *out, int64_t real_time_us, GLogLevelFlags level, const char *domain,
                const char *message)
{
    time_t secs = (time_t)(real_time_us / G_USEC_PER_SEC);
    int ms = (int)((real_time_us % G_USEC_PER_SEC) / 1000);
    struct tm tm;
    char stamp[32] = "0000-00-00T00:00:00";
    if (gmtime_r(&secs, &tm) != NULL)
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    g_string_append_printf(out, "%s.%03dZ %s %s: ", stamp, ms, level_name(level),
                           domain != NULL && domain[0] != '\0' ? domain : "vej");
    for (const unsigned char *p = (const unsigned char *)(message != NULL ? message : ""); *p;
         p++) {
        if (*p < 0x20 || *p == 0x7f)
            g_string_append_printf(out, "\\x%02x", *p);
        else
            g_string_append_c(out, (char)*p);
    }
    g_string_append_c(out, '\n');
}

static GLogWriterOutput
write_line(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
    /* Fatal messages are printed whatever the threshold. */
    if (!(level & (G_LOG_LEVEL_ERROR | G_LOG_FLAG_FATAL)) && !level_enabled(level))
        return G_LOG_WRITER_HANDLED;
    const char *domain = NULL;
    const char *message = NULL;
    for (gsize i = 0; i < n_fields; i++) {
        if (strcmp(fields[i].key, "GLIB_DOMAIN") == 0 && fields[i].length < 0)
            domain = fields[i].value;
        else if (strcmp(fields[i].key, "MESSAGE") == 0 && fields[i].length < 0)
            message = fields[i].value;
    }
    g_autoptr(GString) line = g_string_sized_new(128);
    vej__log_format(line, g_get_real_time(), level, domain, message);
    /* One fwrite per line: stdio locks the stream, so lines from several
     * threads never interleave. */
    if (fwrite(line->str, 1, line->len, stderr) != line->len)
        return G_LOG_WRITER_UNHANDLED;
    fflush(stderr);
    return G_LOG_WRITER_HANDLED;
}

void
vej_log_init(const char *level)
{
    static gsize installed = 0;
    GLogLevelFlags t = vej__log_threshold(level);
    g_atomic_int_set(&threshold, t != 0 ? (gint)t : (gint)G_LOG_LEVEL_INFO);
    /* GLib aborts on a second g_log_set_writer_func(): install it once,
     * later calls only change the level. */
    if (g_once_init_enter(&installed)) {
        g_log_set_writer_func(write_line, NULL, NULL);
        g_once_init_leave(&installed, 1);
    }
}
