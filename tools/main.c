/*
 * main.c - `anchorassign`: profile the assigners on real COCO boxes, or assign a
 * user's boxes to a file. See `anchorassign --help`.
 */
#include "cli.h"

#include <string.h>

static void main_help(FILE *f)
{
    fprintf(f,
            "usage: anchorassign <command> [options]\n"
            "\n"
            "Anchor (label) assignment for dense object detectors, mmdetection 3.x semantics.\n"
            "\n"
            "commands:\n"
            "  profile   time every assigner on the shipped real COCO subset, on every\n"
            "            backend available, and compare the backends\n"
            "  assign    assign the anchors of your boxes (CSV or COCO JSON) to a CSV file\n"
            "  version   print the library version\n"
            "  help [COMMAND]\n"
            "            this text, or a command's (also: anchorassign COMMAND --help)\n"
            "\n"
            "Errors print one line on stderr and exit with status 1.\n");
}

static int is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "help") == 0;
}

/* `help [COMMAND]` */
static void version_help(void)
{
    printf("usage: anchorassign version\n\nPrints the version of the library linked.\n");
}

static int help_command(int argc, char **argv)
{
    if (argc < 3) {
        main_help(stdout);
        return CLI_EXIT_OK;
    }
    if (argc > 3) {
        cli_error("help", "unexpected argument '%s'", argv[3]);
        return CLI_EXIT_ERROR;
    }
    if (strcmp(argv[2], "profile") == 0)
        cli_profile_help(stdout);
    else if (strcmp(argv[2], "assign") == 0)
        cli_assign_help(stdout);
    else if (strcmp(argv[2], "version") == 0)
        version_help();
    else {
        cli_error("help", "unknown command '%s' (commands: profile, assign, version)", argv[2]);
        return CLI_EXIT_ERROR;
    }
    return CLI_EXIT_OK;
}

static int version_command(int argc, char **argv)
{
    if (argc > 2) {
        if (argc == 3 && strcmp(argv[2], "--help") == 0) {
            version_help();
            return CLI_EXIT_OK;
        }
        cli_error("version", "unexpected argument '%s'", argv[2]);
        return CLI_EXIT_ERROR;
    }
    printf("anchorassign %s (library %u, header %d)\n", aa_version_string(),
           aa_version_number(), AA_VERSION_NUMBER);
    return CLI_EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        cli_error(NULL, "no command given (try 'anchorassign --help')");
        return CLI_EXIT_ERROR;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "profile") == 0)
        return cli_profile(argc, argv);
    if (strcmp(cmd, "assign") == 0)
        return cli_assign(argc, argv);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0)
        return version_command(argc, argv);
    if (is_help(cmd))
        return help_command(argc, argv);
    cli_error(NULL, "unknown command '%s' (try 'anchorassign --help')", cmd);
    return CLI_EXIT_ERROR;
}
