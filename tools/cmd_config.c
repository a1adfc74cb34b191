/* castgate config --man | --markdown — hidden (not in `castgate --help`):
 * prints castgate.conf(5), or docs/options.md, generated from the option
 * table of tools/mos_config.c. The build runs --man to make the installed
 * page (CMakeLists.txt). */
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
    if (argc == 2 && strcmp(argv[1], "--markdown") == 0) {
        mosconf_markdown(stdout);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    fprintf(argc == 2 && !strcmp(argv[1], "--help") ? stdout : stderr,
            "usage: castgate config --man        castgate.conf(5) from the option table\n"
            "       castgate config --markdown   docs/options.md from the option table\n");
    return argc == 2 && !strcmp(argv[1], "--help") ? 0 : 2;
}
