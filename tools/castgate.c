/* castgate — the program. A thin dispatcher over tools/cmd_*.c; it links the
 * public libcastgate only. */
#include "commands.h"

#include <castgate/castgate.h>
#include <stdio.h>
#include <string.h>

static const struct cg_command commands[] = {CG_COMMANDS};

static void usage(FILE *f)
{
    fprintf(f, "usage: castgate COMMAND [ARGS…]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'castgate COMMAND --help' describes each command.\n");
}

int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("castgate %s\n", cg_version());
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        return cmd_version(argc - 1, argv + 1);
    if (strcmp(argv[1], "config") == 0) /* hidden: the build's man page generator */
        return cmd_config(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "castgate: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
