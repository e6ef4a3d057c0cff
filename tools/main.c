/* tools/main.c -- `wrecoil`: the command-line front end of libwrecoil. */
#include "cli.h"

#include <string.h>

typedef struct {
    const char *name;
    int (*run)(int, char **);
    const char *summary;
} subcommand;

static const subcommand SUBS[] = {
    {"toy", cmd_toy, "generate W or Z toy events (event table, optionally particles)"},
    {"features", cmd_features, "particles -> recoil vectors, the 15 features and targets"},
    {"train-recoil", cmd_train_recoil, "train the MNPk recoil (ln_e1 and e2s regressors)"},
    {"apply-recoil", cmd_apply_recoil, "add the MNPk recoil (mnpk_x, mnpk_y) to a table"},
    {"train-morph", cmd_train_morph, "learn a quantile morphing of y = (|h|, dphi) given z"},
    {"apply-morph", cmd_apply_morph, "morph the recoil of simulated events"},
    {"fit-mass", cmd_fit_mass, "template fit of the mass (MT) of one sample against another"},
    {"syst", cmd_syst, "bias per unit discrepancy (pT_V spectrum distortion)"},
    {"info", cmd_info, "describe a model file"},
    {"demo", cmd_demo, "the whole W-mass recoil study on the toy, with a report"},
};
#define N_SUBS (sizeof SUBS / sizeof SUBS[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: wrecoil COMMAND [options]   (wrecoil COMMAND --help)\n\n"
               "libwrecoil %s: recoil calibration for the W-mass measurement.\n\n"
               "Commands:\n", wr_version_string());
    for (size_t i = 0; i < N_SUBS; i++) fprintf(f, "  %-14s %s\n", SUBS[i].name, SUBS[i].summary);
    fprintf(f, "\nTables are CSV or CSV.gz (\"-\" = stdin/stdout); docs/cli.md has the details.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("wrecoil %s\n", wr_version_string());
        return 0;
    }
    for (size_t i = 0; i < N_SUBS; i++)
        if (!strcmp(argv[1], SUBS[i].name)) return SUBS[i].run(argc - 1, argv + 1);
    fprintf(stderr, "wrecoil: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
