/*
 * cli_args.c - option parsing, error lines and the default data path of the CLI.
 */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* readlink, realpath */
#endif

#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void cli_error(const char *cmd, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *p = msg; *p != '\0'; ++p) /* one line, whatever was formatted in */
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    fprintf(stderr, "anchorassign%s%s: %s\n", cmd ? " " : "", cmd ? cmd : "", msg);
}

/* ---------------------------------------------------------------- options */

void cli_args_init(cli_args *a, const char *cmd, int argc, char **argv, int first)
{
    memset(a, 0, sizeof *a);
    a->cmd = cmd;
    a->argc = argc;
    a->argv = argv;
    a->next = first;
}

int cli_args_next(cli_args *a)
{
    if (a->next >= a->argc)
        return 0;
    const char *arg = a->argv[a->next++];
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
        cli_error(a->cmd, "unexpected argument '%s' (try 'anchorassign %s --help')", arg,
                  a->cmd);
        return -1;
    }
    const char *eq = strchr(arg, '=');
    size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
    if (n >= sizeof a->name_buf)
        n = sizeof a->name_buf - 1; /* too long to be known: reported as unknown */
    memcpy(a->name_buf, arg, n);
    a->name_buf[n] = '\0';
    a->name = a->name_buf;
    a->inline_value = eq ? eq + 1 : NULL;
    return 1;
}

int cli_args_is(const cli_args *a, const char *name)
{
    return strcmp(a->name, name) == 0;
}

const char *cli_args_value(cli_args *a)
{
    if (a->inline_value != NULL)
        return a->inline_value;
    if (a->next >= a->argc) {
        cli_error(a->cmd, "option '%s' needs a value", a->name);
        return NULL;
    }
    return a->argv[a->next++];
}

int cli_args_int(cli_args *a, long lo, long hi, long *out)
{
    const char *v = cli_args_value(a);
    if (v == NULL)
        return -1;
    char *end = NULL;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end != '\0' || errno == ERANGE || x < lo || x > hi) {
        cli_error(a->cmd, "%s: expected an integer in %ld..%ld, got '%s'", a->name, lo, hi, v);
        return -1;
    }
    *out = x;
    return 0;
}

int cli_args_flag(cli_args *a)
{
    if (a->inline_value == NULL)
        return 0;
    cli_error(a->cmd, "option '%s' takes no value", a->name);
    return -1;
}

void cli_args_unknown(const cli_args *a)
{
    cli_error(a->cmd, "unknown option '%s' (try 'anchorassign %s --help')", a->name, a->cmd);
}

/* ---------------------------------------------------------------- data path */

#ifndef AA_DATA_DIR
#define AA_DATA_DIR "" /* source tree's data/, set by tools/CMakeLists.txt */
#endif
#ifndef AA_INSTALL_DATA_DIR
#define AA_INSTALL_DATA_DIR "" /* ${CMAKE_INSTALL_FULL_DATADIR}/anchorassign */
#endif
#ifndef AA_DATA_DIR_FROM_BIN
#define AA_DATA_DIR_FROM_BIN "" /* the same, relative to the installed bin dir */
#endif

static int readable(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    fclose(f);
    return 1;
}

/* <dir of the running executable>/<AA_DATA_DIR_FROM_BIN>, resolved: finds the data
 * of an install that was relocated (cmake --install --prefix, packages). Linux. */
static int exe_relative_dir(char *out, size_t size)
{
    char exe[PATH_MAX], dir[PATH_MAX + 64];
    if (AA_DATA_DIR_FROM_BIN[0] == '\0' || size < PATH_MAX)
        return 0;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0 || (size_t)n >= sizeof exe - 1)
        return 0;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash == NULL)
        return 0;
    *slash = '\0';
    if (snprintf(dir, sizeof dir, "%s/%s", exe, AA_DATA_DIR_FROM_BIN) >= (int)sizeof dir)
        return 0;
    return realpath(dir, out) != NULL; /* also: it exists */
}

/* Tries dir/CLI_DATA_FILE; appends what was tried to `tried`. */
static int try_dir(const char *dir, char *buf, size_t size, char *tried, size_t tried_size)
{
    if (dir == NULL || dir[0] == '\0')
        return 0;
    if (snprintf(buf, size, "%s/%s", dir, CLI_DATA_FILE) >= (int)size)
        return 0;
    if (readable(buf))
        return 1;
    size_t used = strlen(tried);
    snprintf(tried + used, tried_size - used, "%s%s", used ? ", " : "", dir);
    return 0;
}

const char *cli_default_data(const char *cmd, char *buf, size_t size)
{
    const char *env = getenv("ANCHORASSIGN_DATA");
    if (env != NULL && env[0] != '\0')
        return env; /* used as given: a wrong path then fails loudly when loaded */
    char exe_dir[PATH_MAX], tried[2048] = "";
    const char *dirs[3] = {NULL, AA_DATA_DIR, AA_INSTALL_DATA_DIR};
    if (exe_relative_dir(exe_dir, sizeof exe_dir))
        dirs[0] = exe_dir;
    for (int i = 0; i < 3; ++i)
        if (try_dir(dirs[i], buf, size, tried, sizeof tried))
            return buf;
    cli_error(cmd, "cannot find %s (looked in %s); pass --data PATH", CLI_DATA_FILE,
              tried[0] ? tried : "no compiled-in directory");
    return NULL;
}
