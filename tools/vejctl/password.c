/* password.c - reading a password from standard input or a terminal. The
 * buffers that held it are wiped. */
#include "tools/vejctl/vejctl.h"

#include <string.h>
#include <termios.h>
#include <unistd.h>

static gboolean
input_error(GError **error, const char *message)
{
    g_set_error_literal(error, VEJCTL_ERROR, VEJCTL_ERROR_USAGE, message);
    return FALSE;
}

void
vejctl_secret_free(char *secret)
{
    if (secret == NULL)
        return;
    explicit_bzero(secret, strlen(secret));
    g_free(secret);
}

/* One line from `in` into buf (NUL-terminated, line end removed); `cap`
 * leaves room for VEJCTL_PASSWORD_MAX bytes, a '\r' and the NUL. */
static gboolean
read_line(FILE *in, char *buf, size_t cap, GError **error)
{
    size_t n = 0;
    int ch = EOF;
    while ((ch = getc(in)) != EOF && ch != '\n') {
        if (n + 1 >= cap)
            break;
        buf[n++] = (char)ch;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    if (n > VEJCTL_PASSWORD_MAX || (ch != EOF && ch != '\n'))
        return input_error(
            error, "the password is longer than " G_STRINGIFY(VEJCTL_PASSWORD_MAX) " bytes");
    if (n == 0 && ferror(in))
        return input_error(error, "cannot read standard input");
    if (n == 0)
        return input_error(error, "no password on standard input");
    return TRUE;
}

static gboolean
read_line_no_echo(FILE *in, const char *prompt, char *buf, size_t cap, GError **error)
{
    struct termios saved, quiet;
    int fd = fileno(in);
    gboolean tty = isatty(fd) && tcgetattr(fd, &saved) == 0;
    if (tty) {
        fprintf(stderr, "%s", prompt);
        fflush(stderr);
        quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL;
        if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0)
            tty = FALSE;
    }
    gboolean ok = read_line(in, buf, cap, error);
    if (tty)
        (void)tcsetattr(fd, TCSAFLUSH, &saved);
    return ok;
}

char *
vejctl_read_password(FILE *in, const char *prompt, gboolean confirm, GError **error)
{
    /* Room for the maximum, a '\r' and the terminating NUL. */
    char first[VEJCTL_PASSWORD_MAX + 2];
    char again[VEJCTL_PASSWORD_MAX + 2];
    char *result = NULL;
    if (read_line_no_echo(in, prompt, first, sizeof first, error)) {
        if (confirm && isatty(fileno(in))) {
            if (read_line_no_echo(in, "Again: ", again, sizeof again, error)) {
                if (strcmp(first, again) == 0)
                    result = g_strdup(first);
                else
                    input_error(error, "the passwords do not match");
            }
        } else {
            result = g_strdup(first);
        }
    }
    explicit_bzero(first, sizeof first);
    explicit_bzero(again, sizeof again);
    return result;
}
