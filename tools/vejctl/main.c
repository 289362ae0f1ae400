/* main.c - vejctl: the gateway's command-line administration tool. */
#include "tools/vejctl/vejctl.h"

#include <curl/curl.h>
#include <locale.h>
#include <sys/stat.h>

int
main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    /* Court data, as the gateway does: nothing vejctl creates in the data
     * directory (a first vej.db, its -wal and -shm) is readable by others. */
    umask(0077);
    struct vejctl_args a = {0};
    g_autoptr(GError) error = NULL;
    if (!vejctl_parse(argc, argv, &a, &error)) {
        fprintf(stderr, "vejctl: %s\n", error->message);
        vejctl_args_clear(&a);
        return VEJCTL_ERROR_USAGE;
    }
    if (a.help_text != NULL) {
        fputs(a.help_text, stdout);
        vejctl_args_clear(&a);
        return 0;
    }
    int status;
    if (a.command >= VEJCTL_RECORDINGS_LIST && a.command <= VEJCTL_RECORDINGS_SWEEP) {
        status = vejctl_run_recordings(&a);
    } else if (a.command == VEJCTL_USER_ADD || a.command == VEJCTL_AUDIT_VERIFY) {
        status = vejctl_run_local(&a);
    } else if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "vejctl: cannot initialize libcurl\n");
        status = VEJCTL_ERROR_FAILED;
    } else {
        status = vejctl_run_rest(&a);
        curl_global_cleanup();
    }
    vejctl_args_clear(&a);
    return status;
}
