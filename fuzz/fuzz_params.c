/* fuzz/fuzz_params.c -- "key=value" parameter strings on every handle.
 * Byte 0 selects the handle (low 3 bits: forest, regressor, morpher,
 * morpher forest parameters, template fit, toy) and the call (bit 3: one
 * set_param with key and value split at the first newline, else
 * set_params on the whole string).  Properties: a failing call leaves
 * every parameter as it was, with a message; a successful one leaves a
 * state whose string form reads back (get -> set on a fresh handle gives
 * the same values). */
#include "fuzz.h"

static const char *const QF_KEYS[] = {
    "rounds", "max_leaves", "max_depth", "min_samples_leaf", "max_bins",
    "early_stopping_rounds", "seed", "threads", "learning_rate",
    "min_weight_leaf", "l2", "subsample", "colsample", "multi", NULL};
static const char *const REG_KEYS[] = {
    "family", "pedestal_lo", "pedestal_hi", "hidden", "activation", "epochs",
    "batch_size", "learning_rate", "lr_schedule", "lr_min", "lr_factor",
    "lr_patience", "adam_beta1", "adam_beta2", "adam_eps", "l2", "patience",
    "seed", "threads", NULL};
static const char *const MORPH_KEYS[] = {"threads", "interpolation",
                                         "validation_fraction", "seed", NULL};
static const char *const TF_KEYS[] = {
    "mass_center", "mass_step", "mass_count", "ref_mass", "ref_width", "width",
    "width_scaling", "flow", "bootstrap", "seed", "data_sets", "bb_lite",
    "norm", "interp", "scan_refine", "parabola_window", "threads", NULL};

enum { H_QF, H_REG, H_MORPH, H_MORPH_FOREST, H_TF, H_TOY, H_COUNT };

typedef struct handles {
    wr_quantile_forest *qf;
    wr_regressor *reg;
    wr_morpher *morph;
    wr_template_fit *tf;
    wr_toy *toy;
} handles;

/* Creating a toy takes ~10 ms (it builds its pileup library), so the
 * harness keeps two toys for the whole run and resets them to the preset
 * before each use: the properties compare states within one input. */
static wr_toy *toy_slot(int slot)
{
    static wr_toy *toys[2];
    if (!toys[slot]) FUZZ_REQUIRE(wr_toy_create("W", "mc", &toys[slot]) == WR_OK);
    FUZZ_REQUIRE(wr_toy_set_preset(toys[slot], "mc") == WR_OK);
    return toys[slot];
}

/* Creates the handle `which` needs (only that one: runs stay fast); the
 * toy comes from slot `slot`. */
static void make(handles *h, int which, int slot)
{
    memset(h, 0, sizeof *h);
    switch (which) {
    case H_QF: FUZZ_REQUIRE(wr_qforest_create(NULL, 0, &h->qf) == WR_OK); break;
    case H_REG: FUZZ_REQUIRE(wr_regressor_create(&h->reg) == WR_OK); break;
    case H_MORPH:
    case H_MORPH_FOREST:
        FUZZ_REQUIRE(wr_morpher_create(2, 1, NULL, 0, &h->morph) == WR_OK);
        break;
    case H_TF:
        FUZZ_REQUIRE(wr_tfit_create_uniform(4, 0.0, 1.0, 0, 0, 0, &h->tf) == WR_OK);
        break;
    default: h->toy = toy_slot(slot); break;
    }
}

static void release(handles *h)
{
    wr_qforest_free(h->qf);
    wr_regressor_free(h->reg);
    wr_morpher_free(h->morph);
    wr_tfit_free(h->tf);
    /* toys stay in their slots */
}

static wr_status get(const handles *h, int which, const char *key, char *buf, size_t len)
{
    switch (which) {
    case H_QF: return wr_qforest_get_param(h->qf, key, buf, len);
    case H_REG: return wr_regressor_get_param(h->reg, key, buf, len);
    case H_MORPH: return wr_morpher_get_param(h->morph, key, buf, len);
    case H_TF: return wr_tfit_get_param(h->tf, key, buf, len);
    default: return wr_toy_get_param(h->toy, key, buf, len);
    }
}

/* The whole parameter state as one string (malloc'ed). */
static char *snapshot(const handles *h, int which)
{
    if (which == H_TOY) {
        char *s = NULL;
        FUZZ_REQUIRE(wr_toy_params_string(h->toy, &s) == WR_OK);
        char *copy = strdup(s);
        wr_free(s);
        return copy;
    }
    if (which == H_MORPH_FOREST) {
        size_t cap = 1 << 16;
        char *s = malloc(2 * cap + 2);
        FUZZ_REQUIRE(s);
        FUZZ_REQUIRE(wr_morpher_get_forest_params(h->morph, WR_MORPH_SIM, s, cap) == WR_OK);
        size_t k = strlen(s);
        s[k] = '|';
        FUZZ_REQUIRE(wr_morpher_get_forest_params(h->morph, WR_MORPH_DATA, s + k + 1, cap) ==
                     WR_OK);
        return s;
    }
    const char *const *keys = which == H_QF ? QF_KEYS : which == H_REG ? REG_KEYS
                              : which == H_MORPH ? MORPH_KEYS : TF_KEYS;
    size_t cap = 4096, n = 0;
    char *s = malloc(cap);
    FUZZ_REQUIRE(s);
    s[0] = '\0';
    for (int i = 0; keys[i]; i++) {
        char v[512];
        FUZZ_REQUIRE(get(h, which, keys[i], v, sizeof v) == WR_OK);
        size_t need = strlen(keys[i]) + strlen(v) + 3;
        if (n + need >= cap) {
            cap = 2 * (n + need);
            s = realloc(s, cap);
            FUZZ_REQUIRE(s);
        }
        n += (size_t)snprintf(s + n, cap - n, "%s%s=%s", n ? " " : "", keys[i], v);
    }
    return s;
}

static wr_status set_all(handles *h, int which, const char *kv)
{
    switch (which) {
    case H_QF: return wr_qforest_set_params(h->qf, kv);
    case H_REG: return wr_regressor_set_params(h->reg, kv);
    case H_MORPH: return wr_morpher_set_params(h->morph, kv);
    case H_MORPH_FOREST: {
        wr_status st = wr_morpher_set_forest_params(h->morph, WR_MORPH_SIM, kv);
        if (st == WR_OK) st = wr_morpher_set_forest_params(h->morph, WR_MORPH_DATA, kv);
        return st;
    }
    case H_TF: return wr_tfit_set_params(h->tf, kv);
    default: return wr_toy_set_params(h->toy, kv);
    }
}

static wr_status set_one(handles *h, int which, const char *key, const char *value)
{
    switch (which) {
    case H_QF: return wr_qforest_set_param(h->qf, key, value);
    case H_REG: return wr_regressor_set_param(h->reg, key, value);
    case H_MORPH: return wr_morpher_set_param(h->morph, key, value);
    case H_MORPH_FOREST: return wr_morpher_set_forest_params(h->morph, WR_MORPH_BOTH, key);
    case H_TF: return wr_tfit_set_param(h->tf, key, value);
    default: return wr_toy_set_param(h->toy, key, value);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096) return 0;
    int which = (data[0] & 7) % H_COUNT;
    int single = (data[0] >> 3) & 1;
    char *s = malloc(size);
    FUZZ_REQUIRE(s);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    handles h;
    make(&h, which, 0);
    char *before = snapshot(&h, which);
    wr_status st;
    if (single) {
        char *nl = strchr(s, '\n');
        const char *value = "";
        if (nl) {
            *nl = '\0';
            value = nl + 1;
        }
        st = set_one(&h, which, s, value);
    } else {
        st = set_all(&h, which, s);
    }
    char *after = snapshot(&h, which);
    if (st != WR_OK) {
        FUZZ_REQUIRE(wr_last_error()[0] != '\0');
        if (strcmp(before, after) != 0) {
            fprintf(stderr, "handle changed by a failed call:\n  before: %s\n  after:  %s\n",
                    before, after);
            abort();
        }
    } else if (which != H_MORPH_FOREST) {
        /* the state reads back: its string form sets a fresh handle alike */
        handles g;
        make(&g, which, 1);
        st = set_all(&g, which, after);
        if (st != WR_OK) {
            fprintf(stderr, "state does not read back: %s: %s\n", after, wr_last_error());
            abort();
        }
        char *again = snapshot(&g, which);
        FUZZ_REQUIRE(strcmp(after, again) == 0);
        free(again);
        release(&g);
    }
    free(before);
    free(after);
    free(s);
    release(&h);
    return 0;
}
