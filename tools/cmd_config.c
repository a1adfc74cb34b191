/* castgate config --man — hidden (not in `castgate --help`): prints
 * castgate.conf(5) generated from the option table of tools/mos_config.c.
 * The build runs it to make the installed page (CMakeLists.txt). */
#include "commands.h"
#include "mos_config.h"

#include <castgate/castgate.h>
#include <stdio.h>
#include <string.h>

int cmd_config(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--man") == 0) {
        mosconf_man(stdout, cg_version());
        return fflush(stdout) == 0 ? 0 : 1;
    }
    fprintf(argc == 2 && !strcmp(argv[1], "--help") ? stdout : stderr,
            "usage: castgate config --man   castgate.conf(5) from the option table\n");
    return argc == 2 && !strcmp(argv[1], "--help") ? 0 : 2;
}
