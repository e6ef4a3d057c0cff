/* lib/toy.c -- wr_toy: handle, knobs and presets, the event-table and
 * particle drivers (threaded, chunked, reproducible per event), and the
 * generator-level boson density used for reweighting between presets.
 * The generator itself is lib/toy_gen.c; the model is docs/toy.md. */
#include "toy_internal.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define OFF(f) offsetof(toy_params, f)
#define D(name, lo, hi, def, doc) \
    {#name, WR__P_DOUBLE, OFF(name), lo, hi, def, NULL, doc}

/* Defaults are the W "mc" preset; the other presets are overrides below. */
static const wr__param_desc TOY_PARAMS[] = {
    /* boson */
    D(mass, 1, 1000, "80.385", "boson pole mass (GeV)"),
    D(width, 0.001, 100, "2.085", "boson width (GeV)"),
    D(mass_min, 0.1, 10000, "40", "lower end of the generated mass range (GeV)"),
    D(mass_max, 0.1, 10000, "200", "upper end of the generated mass range (GeV)"),
    D(w_plus_frac, 0, 1, "0.55", "fraction of W+ (W only)"),
    D(pt_scale, 0.01, 1000, "22.32", "Burr XII pT spectrum scale a (GeV)"),
    D(pt_p, 0.5, 10, "1.449", "Burr XII shape p (low-pT rise ~ pT^(p-1))"),
    D(pt_c, 0.2, 20, "1.812", "Burr XII shape c (tail ~ pT^-(p c + 1))"),
    D(pt_max, 1, 6500, "1000", "upper end of the generated pT range (GeV)"),
    D(y_flat, 0, 10, "1.7", "half width of the rapidity plateau"),
    D(y_sigma, 0.01, 10, "1.4", "width of the Gaussian rapidity edges"),
    D(quark_dir, 0, 1, "0.6", "how strongly the quark follows the boson rapidity: P(quark from +z) = (1 + quark_dir tanh y)/2"),
    D(a0_scale, 0, 1, "1", "scale of the angular coefficient A0 = pT^2/(pT^2+m^2)"),
    D(z_a4, -2, 2, "0.06", "forward-backward coefficient A4 of the Z (mu- along the quark)"),
    /* muons */
    D(mu_res, 0, 0.5, "0.015", "relative muon pT resolution"),
    D(mu_pt_min, 0, 1000, "25", "muon selection: reconstructed pT > (GeV)"),
    D(mu_eta_max, 0.01, 10, "2.4", "muon selection: |eta| <"),
    D(mll_min, 0, 10000, "60", "Z selection: reconstructed m_mumu > (GeV)"),
    D(mll_max, 0, 10000, "120", "Z selection: reconstructed m_mumu < (GeV)"),
    /* ISR */
    D(kt_remnant, 0, 100, "1.0", "Gaussian sigma per component of the pT carried by the forward beam remnants (GeV, unseen)"),
    D(isr_n_extra, 0, 50, "1.0", "mean number of extra ISR emissions (Poisson)"),
    D(isr_pt_extra, 0, 100, "3.0", "mean pT of an extra emission (exponential, GeV)"),
    D(isr_eta_sigma, 0, 10, "1.6", "eta spread of ISR clusters"),
    D(isr_eta_ycorr, -2, 2, "0.5", "ISR cluster eta follows this fraction of the boson rapidity"),
    D(frag_n0, 0, 100, "1.5", "fragments per cluster: 1 + Poisson(frag_n0 + frag_nlog ln(1 + pT/GeV))"),
    D(frag_nlog, 0, 50, "3.5", "see frag_n0"),
    D(frag_kt, 0, 10, "0.6", "fragment angle to the cluster axis ~ frag_kt / pT (GeV)"),
    D(frag_maxang, 0, 3.14, "1.0", "largest fragment angle spread (rad)"),
    D(frag_hier, 0.2, 5, "1", "momentum-share hierarchy: shares ~ Exp^frag_hier"),
    D(frac_charged, 0, 1, "0.62", "fraction of charged fragments"),
    D(frac_photon, 0, 1, "0.25", "fraction of photon fragments (rest: neutral hadrons)"),
    /* soft activity */
    D(ue_dnch, 0, 1000, "6.8", "underlying event: charged per unit eta with pT > 0.5 GeV"),
    D(ue_dnph, 0, 1000, "3.0", "underlying event: photons per unit eta with pT > 0.5 GeV"),
    D(ue_dnnh, 0, 1000, "0.8", "underlying event: neutral hadrons per unit eta with pT > 0.5 GeV"),
    D(ue_k, 0.05, 1000, "3", "underlying event: negative-binomial shape of the activity"),
    D(pu_mu, 0, 500, "25", "mean number of pileup interactions (Poisson)"),
    D(pu_dnch, 0, 1000, "3.65", "pileup vertex: charged per unit eta with pT > 0.5 GeV"),
    D(pu_dnph, 0, 1000, "1.5", "pileup vertex: photons per unit eta with pT > 0.5 GeV"),
    D(pu_dnnh, 0, 1000, "0.35", "pileup vertex: neutral hadrons per unit eta with pT > 0.5 GeV"),
    D(pu_k, 0.05, 1000, "1.6", "pileup vertex: negative-binomial shape of the activity"),
    D(soft_a, 1.01, 50, "4.5", "soft pT spectrum (1 + pT/lambda)^-a: power a"),
    D(soft_lambda, 0.01, 100, "1.3", "soft pT spectrum: scale lambda (GeV)"),
    D(gen_min_ch, 0.01, 100, "0.45", "soft charged generated above (GeV; <= trk_pt_min)"),
    D(gen_min_ph, 0.01, 100, "0.85", "soft photons generated above (GeV)"),
    D(gen_min_nh, 0.01, 100, "0.3", "soft neutral hadrons and forward charged generated above (GeV)"),
    /* detector */
    D(trk_eff, 0, 1, "0.92", "track efficiency"),
    D(trk_eta_max, 0, 10, "2.5", "tracker acceptance |eta| <"),
    D(trk_pt_min, 0, 100, "0.5", "track pT threshold (GeV)"),
    D(trk_res_a, 0, 1, "0.01", "track resolution sigma(pT)/pT = sqrt(a^2 + (b pT)^2): a"),
    D(trk_res_b, 0, 1, "0.0002", "track resolution: b (1/GeV)"),
    D(pv_assoc, 0, 1, "0.99", "probability a hard-interaction track is associated to the PV"),
    D(pu_assoc, 0, 1, "0.97", "probability a pileup track is associated to its own vertex"),
    D(nt_eta_max, 0, 10, "3.0", "calorimeter acceptance |eta| <"),
    D(nt_pt_min, 0, 100, "1.0", "neutral cluster pT threshold (GeV)"),
    D(ph_scale, 0.1, 10, "1.0", "photon energy scale"),
    D(ph_res_stoch, 0, 10, "0.05", "photon resolution: stochastic term (GeV^1/2)"),
    D(ph_res_const, 0, 1, "0.01", "photon resolution: constant term"),
    D(ph_res_scale, 0, 100, "1.0", "photon resolution: overall factor"),
    D(ph_ang, 0, 1, "0.01", "photon angular smearing in eta and phi (rad)"),
    D(nh_scale, 0.1, 10, "0.85", "neutral hadron energy scale"),
    D(nh_res_stoch, 0, 10, "1.0", "hadron resolution: stochastic term (GeV^1/2)"),
    D(nh_res_const, 0, 1, "0.05", "hadron resolution: constant term"),
    D(nh_ang, 0, 1, "0.05", "hadron angular smearing in eta and phi (rad)"),
    /* execution */
    {"chunk", WR__P_INT, OFF(chunk), 1, 1e7, "256", NULL,
     "events per parallel work item (results do not depend on it)"},
    {"pu_library", WR__P_INT, OFF(pu_library), 0, 1 << 20, "4096", NULL,
     "pileup vertices in the library events draw from (0: fresh vertices for every event)"},
    {"pu_library_seed", WR__P_INT, OFF(pu_library_seed), 0, 9.0e15, "1", NULL,
     "seed of the pileup library (shared by samples of any event seed)"},
};

static const wr__param_table TOY_TABLE = {
    "toy", TOY_PARAMS, sizeof TOY_PARAMS / sizeof TOY_PARAMS[0], sizeof(toy_params)};

/* Preset overrides on top of the defaults (W "mc").  "data" plays real data
 * as in the generator samples: lower tracking efficiency and hadron scale,
 * worse photon resolution, more pileup, a more active underlying event,
 * fewer extra ISR emissions and a softer boson pT spectrum. */
static const char *const PRESET_Z =
    "mass=91.1876 width=2.4952 mass_min=60 mass_max=120 "
    "pt_scale=26.26 pt_p=1.419 pt_c=1.933 y_flat=1.3 y_sigma=1.0";
static const char *const PRESET_DATA =
    "trk_eff=0.90 nh_scale=0.80 ph_res_scale=1.2 pu_mu=28 "
    "ue_dnch=7.6 ue_dnph=3.5 ue_dnnh=0.95 isr_n_extra=0.8 kt_remnant=0.8 "
    "isr_eta_sigma=1.85 frag_kt=0.75 pu_dnph=1.8 pu_dnnh=0.42 soft_lambda=1.4";
static const char *const PRESET_W_DATA = "pt_scale=17.8 pt_p=1.474 pt_c=1.650";
static const char *const PRESET_Z_DATA = "pt_scale=22.17 pt_p=1.444 pt_c=1.760";

static const char *const TABLE_COLS[] = {
    "ev", "q", "v_pt", "v_phi", "v_pz", "v_m", "lgen_pt", "lgen_eta",
    "lgen_phi", "l_pt", "l_eta", "l_phi", "l2_pt", "l2_eta", "l2_phi", "n_pu",
    "tk_x", "tk_y", "pf_x", "pf_y", "ntnpv_x", "ntnpv_y", "htrue_x", "htrue_y",
    "h_tk", "phi_tk", "r_ntnpv", "r_m", "r_ltk", "r_lnt", "s_tk", "s_nt",
    "s_pf", "cos_tk_ntnpv", "adphi_tk_ntnpv", "sdphi_tk_pf", "sdphi_tk_ltk",
    "n_tk", "n_vtx", "ln_e1", "e2"};
#define N_TABLE_COLS (sizeof TABLE_COLS / sizeof TABLE_COLS[0])
static const char *const TRUTH_COLS[] = {
    "ev", "q", "v_pt", "v_phi", "v_pz", "v_m", "lgen_pt", "lgen_eta",
    "lgen_phi", "l_pt", "l_eta", "l_phi", "l2_pt", "l2_eta", "l2_phi", "n_pu",
    "htrue_x", "htrue_y"};
#define N_TRUTH_COLS (sizeof TRUTH_COLS / sizeof TRUTH_COLS[0])

/* ------------------------------------------------------------- handle */

/* Knob combinations a single bound cannot express. */
static wr_status check_combo(const toy_params *p)
{
    if (!(p->mass_min < p->mass && p->mass < p->mass_max))
        return wr__fail(WR_ERR_INVALID_ARG,
                        "toy: need mass_min < mass < mass_max (have %g, %g, %g)",
                        p->mass_min, p->mass, p->mass_max);
    if (!(p->mll_min < p->mll_max))
        return wr__fail(WR_ERR_INVALID_ARG, "toy: need mll_min < mll_max (have %g, %g)",
                        p->mll_min, p->mll_max);
    if (p->frac_charged + p->frac_photon > 1.0 + 1e-12)
        return wr__fail(WR_ERR_INVALID_ARG,
                        "toy: frac_charged + frac_photon = %g exceeds 1",
                        p->frac_charged + p->frac_photon);
    if (p->gen_min_ch > p->trk_pt_min)
        return wr__fail(WR_ERR_INVALID_ARG,
                        "toy: gen_min_ch (%g GeV) above trk_pt_min (%g GeV) "
                        "would lose soft tracks", p->gen_min_ch, p->trk_pt_min);
    return WR_OK;
}

static wr_status parse_preset(int process, const char *preset, toy_params *p)
{
    int data;
    if (!preset || !strcmp(preset, "mc")) data = 0;
    else if (!strcmp(preset, "data")) data = 1;
    else
        return wr__fail(WR_ERR_INVALID_ARG,
                        "toy: argument 'preset': '%s' is not \"mc\" or \"data\"", preset);
    wr__params_defaults(&TOY_TABLE, p);
    wr_status st = WR_OK;
    if (process == TOY_Z) st = wr__params_parse(&TOY_TABLE, p, PRESET_Z);
    if (!st && data) st = wr__params_parse(&TOY_TABLE, p, PRESET_DATA);
    if (!st && data)
        st = wr__params_parse(&TOY_TABLE, p, process == TOY_Z ? PRESET_Z_DATA : PRESET_W_DATA);
    if (!st) st = check_combo(p);
    if (st) return wr__fail(WR_ERR_INTERNAL, "toy: bad preset table: %s", wr_last_error());
    return WR_OK;
}

WR_API wr_status wr_toy_create(const char *process, const char *preset, wr_toy **out)
{
    wr_status st;
    if ((st = wr__check_ptr("wr_toy_create", "out", out)) ||
        (st = wr__check_ptr("wr_toy_create", "process", process)))
        return st;
    *out = NULL;
    int proc;
    if (!strcmp(process, "W")) proc = TOY_W;
    else if (!strcmp(process, "Z")) proc = TOY_Z;
    else
        return wr__fail(WR_ERR_INVALID_ARG,
                        "wr_toy_create: argument 'process': '%s' is not \"W\" or \"Z\"",
                        process);
    wr_toy *t = wr__calloc_array(1, sizeof *t, "wr_toy_create: toy");
    if (!t) return WR_ERR_NOMEM;
    t->process = proc;
    if ((st = parse_preset(proc, preset, &t->p))) {
        free(t);
        wr__error_prefix("wr_toy_create");
        return st;
    }
    toy_fixed_tables(&t->d);
    toy_derive(&t->p, &t->d);
    *out = t;
    return WR_OK;
}

WR_API void wr_toy_free(wr_toy *toy) { free(toy); }

WR_API const char *wr_toy_process(const wr_toy *toy)
{
    if (!toy) return "";
    return toy->process == TOY_W ? "W" : "Z";
}

/* Commits new knobs after the combination check; the handle is untouched
 * on error. */
static wr_status commit(wr_toy *toy, const toy_params *p, const char *fn)
{
    wr_status st = check_combo(p);
    if (st) {
        wr__error_prefix(fn);
        return st;
    }
    toy->p = *p;
    toy_derive(&toy->p, &toy->d);
    return WR_OK;
}

WR_API wr_status wr_toy_set_preset(wr_toy *toy, const char *preset)
{
    wr_status st = wr__check_ptr("wr_toy_set_preset", "toy", toy);
    if (st) return st;
    toy_params p;
    if ((st = parse_preset(toy->process, preset, &p))) {
        wr__error_prefix("wr_toy_set_preset");
        return st;
    }
    return commit(toy, &p, "wr_toy_set_preset");
}

WR_API wr_status wr_toy_set_param(wr_toy *toy, const char *key, const char *value)
{
    wr_status st = wr__check_ptr("wr_toy_set_param", "toy", toy);
    if (st) return st;
    toy_params p = toy->p;
    if ((st = wr__params_set(&TOY_TABLE, &p, key, value))) {
        wr__error_prefix("wr_toy_set_param");
        return st;
    }
    return commit(toy, &p, "wr_toy_set_param");
}

WR_API wr_status wr_toy_set_params(wr_toy *toy, const char *kv)
{
    wr_status st;
    if ((st = wr__check_ptr("wr_toy_set_params", "toy", toy)) ||
        (st = wr__check_ptr("wr_toy_set_params", "kv", kv)))
        return st;
    toy_params p = toy->p;
    if ((st = wr__params_parse(&TOY_TABLE, &p, kv))) {
        wr__error_prefix("wr_toy_set_params");
        return st;
    }
    return commit(toy, &p, "wr_toy_set_params");
}

WR_API wr_status wr_toy_get_param(const wr_toy *toy, const char *key, char *buf,
                                  size_t len)
{
    wr_status st = wr__check_ptr("wr_toy_get_param", "toy", toy);
    if (st) return st;
    return wr__params_get(&TOY_TABLE, &toy->p, key, buf, len);
}

WR_API wr_status wr_toy_get_param_num(const wr_toy *toy, const char *key,
                                      double *value)
{
    wr_status st;
    if ((st = wr__check_ptr("wr_toy_get_param_num", "toy", toy)) ||
        (st = wr__check_ptr("wr_toy_get_param_num", "value", value)))
        return st;
    return wr__params_get_num(&TOY_TABLE, &toy->p, key, value);
}

WR_API wr_status wr_toy_params_string(const wr_toy *toy, char **out)
{
    wr_status st;
    if ((st = wr__check_ptr("wr_toy_params_string", "toy", toy)) ||
        (st = wr__check_ptr("wr_toy_params_string", "out", out)))
        return st;
    *out = wr__params_format(&TOY_TABLE, &toy->p);
    return *out ? WR_OK : WR_ERR_NOMEM;
}

WR_API void wr_toy_set_progress(wr_toy *toy, wr_progress_fn fn, void *user_data)
{
    if (!toy) return;
    toy->progress = fn;
    toy->progress_user = user_data;
}

/* ------------------------------------------------------------ columns */

WR_API size_t wr_toy_table_ncols(void) { return N_TABLE_COLS; }

WR_API const char *wr_toy_table_colname(size_t i)
{
    return i < N_TABLE_COLS ? TABLE_COLS[i] : NULL;
}

WR_API int wr_toy_table_colindex(const char *name)
{
    if (!name) return -1;
    for (size_t i = 0; i < N_TABLE_COLS; i++)
        if (!strcmp(TABLE_COLS[i], name)) return (int)i;
    return -1;
}

WR_API size_t wr_toy_truth_ncols(void) { return N_TRUTH_COLS; }

WR_API const char *wr_toy_truth_colname(size_t i)
{
    return i < N_TRUTH_COLS ? TRUTH_COLS[i] : NULL;
}

/* ------------------------------------------------------------ drivers */

/* Event numbers must fit the stream index and stay exact in the double
 * `ev` column. */
static wr_status check_range(const char *fn, int64_t first, size_t n)
{
    const int64_t lim = (int64_t)1 << 53;
    if (first < 0 || first > lim || (uint64_t)n > (uint64_t)(lim - first))
        return wr__fail(WR_ERR_INVALID_ARG,
                        "%s: events [%lld, %lld + %zu) outside [0, 2^53)", fn,
                        (long long)first, (long long)first, n);
    return WR_OK;
}

/* Threads worth starting for n events. */
static int toy_threads(int requested, size_t n, size_t chunk)
{
    int nt = wr__resolve_threads(requested);
    size_t chunks = (n + chunk - 1) / chunk;
    if ((size_t)nt > chunks) nt = chunks ? (int)chunks : 1;
    return nt;
}

/* What a driver call works with: its threads, the pileup library of its
 * seed, and per thread an event and the first failure. */
typedef struct scratch {
    wr__pool *pool;  /* NULL: the calling thread alone */
    pu_lib lib;
    toy_event *ev;   /* one per thread */
    wr_status *st;   /* first failure per thread */
    int nt;
} scratch;

static void scratch_free(scratch *s)
{
    wr__pool_free(s->pool);
    if (s->ev)
        for (int i = 0; i < s->nt; i++) toy_event_free(&s->ev[i]);
    free(s->ev);
    free(s->st);
    pu_lib_free(&s->lib);
}

static wr_status scratch_init(scratch *s, const wr_toy *toy, int nt, const char *fn)
{
    memset(s, 0, sizeof *s);
    s->nt = nt;
    s->pool = nt > 1 ? wr__pool_create(nt) : NULL;
    if (nt > 1 && !s->pool) return WR_ERR_NOMEM;
    wr_status st = pu_lib_build(toy, (uint64_t)toy->p.pu_library_seed, s->pool, &s->lib);
    if (!st) {
        s->ev = wr__calloc_array((size_t)nt, sizeof *s->ev, fn);
        s->st = wr__calloc_array((size_t)nt, sizeof *s->st, fn);
        if (!s->ev || !s->st) st = WR_ERR_NOMEM;
    }
    if (st) {
        scratch_free(s);
        return st;
    }
    for (int i = 0; i < nt; i++) toy_event_init(&s->ev[i]);
    return WR_OK;
}

static wr_status scratch_status(const scratch *s, const char *fn)
{
    for (int i = 0; i < s->nt; i++) {
        if (s->st[i] == WR_ERR_NOMEM)
            return wr__fail(WR_ERR_NOMEM, "%s: out of memory for the particles of an event", fn);
        if (s->st[i])
            return wr__fail(s->st[i],
                            "%s: the selection rejected %d boson draws in a row "
                            "(do the muon cuts accept anything?)", fn, TOY_MAX_TRIES);
    }
    return WR_OK;
}

typedef struct table_job {
    const wr_toy *toy;
    uint64_t seed;
    int64_t first; /* event number of row 0 of `out` */
    double *out;
    size_t ncol;
    scratch *sc;
} table_job;

static void table_range(void *ctx, size_t begin, size_t end, int tid)
{
    table_job *j = ctx;
    toy_event *e = &j->sc->ev[tid];
    for (size_t i = begin; i < end && !j->sc->st[tid]; i++) {
        int64_t ev = j->first + (int64_t)i;
        wr_status st = toy_generate(j->toy, &j->sc->lib, j->seed, ev, e);
        if (st) {
            j->sc->st[tid] = st;
            return;
        }
        toy_event_row(j->toy, e, ev, j->out + i * j->ncol);
    }
}

/* Block of events between two progress reports: a few work items per
 * thread, so threads stay busy and the callback is called regularly. */
static size_t block_size(const wr_toy *toy, int nt, size_t n)
{
    if (!toy->progress) return n;
    size_t b = (size_t)toy->p.chunk * (size_t)nt * 4;
    return b < 1 ? 1 : b;
}

WR_API wr_status wr_toy_table(const wr_toy *toy, uint64_t seed, int64_t first,
                              size_t n, int nthreads, double *out)
{
    static const char *const FN = "wr_toy_table";
    wr_status st;
    if ((st = wr__check_ptr(FN, "toy", toy)) || (st = wr__check_ptr(FN, "out", out)) ||
        (st = check_range(FN, first, n)))
        return st;
    if (n == 0) return WR_OK;
    size_t chunk = (size_t)toy->p.chunk;
    scratch sc;
    if ((st = scratch_init(&sc, toy, toy_threads(nthreads, n, chunk), FN))) return st;
    size_t block = block_size(toy, sc.nt, n);
    for (size_t b = 0; b < n && !st; b += block) {
        size_t m = n - b < block ? n - b : block;
        table_job j = {toy, seed, first + (int64_t)b, out + b * N_TABLE_COLS,
                       N_TABLE_COLS, &sc};
        wr__pool_for(sc.pool, m, chunk, table_range, &j);
        st = scratch_status(&sc, FN);
        if (!st)
            st = wr__progress(toy->progress, toy->progress_user, "toy.table",
                              (int64_t)(b + m), (int64_t)n, NAN, NAN);
    }
    scratch_free(&sc);
    return st;
}

/* Particles of one chunk of events, appended while generating. */
typedef struct pchunk {
    size_t n, cap;
    float *pt, *eta, *phi;
    int32_t *charge, *vtx;
} pchunk;

static void pchunk_free(pchunk *c)
{
    free(c->pt);
    free(c->eta);
    free(c->phi);
    free(c->charge);
    free(c->vtx);
    memset(c, 0, sizeof *c);
}

static int pchunk_reserve(pchunk *c, size_t need)
{
    if (need <= c->cap) return 0;
    size_t cap = c->cap ? c->cap : 4096;
    while (cap < need) cap *= 2;
    float *f;
    int32_t *k;
    if (!(f = realloc(c->pt, cap * sizeof *f))) return -1;
    c->pt = f;
    if (!(f = realloc(c->eta, cap * sizeof *f))) return -1;
    c->eta = f;
    if (!(f = realloc(c->phi, cap * sizeof *f))) return -1;
    c->phi = f;
    if (!(k = realloc(c->charge, cap * sizeof *k))) return -1;
    c->charge = k;
    if (!(k = realloc(c->vtx, cap * sizeof *k))) return -1;
    c->vtx = k;
    c->cap = cap;
    return 0;
}

typedef struct part_job {
    const wr_toy *toy;
    uint64_t seed;
    int64_t first;   /* event number of event 0 of the call */
    size_t n, chunk; /* events of the call, events per chunk */
    size_t c0;       /* first chunk of this block */
    pchunk *chunks;
    int64_t *counts; /* particles per event (offsets + 1 of the call) */
    double *truth;
    scratch *sc;
} part_job;

static void part_range(void *ctx, size_t begin, size_t end, int tid)
{
    part_job *j = ctx;
    toy_event *e = &j->sc->ev[tid];
    for (size_t ci = j->c0 + begin; ci < j->c0 + end && !j->sc->st[tid]; ci++) {
        pchunk *c = &j->chunks[ci];
        size_t i1 = (ci + 1) * j->chunk < j->n ? (ci + 1) * j->chunk : j->n;
        for (size_t i = ci * j->chunk; i < i1; i++) {
            int64_t ev = j->first + (int64_t)i;
            wr_status st = toy_generate(j->toy, &j->sc->lib, j->seed, ev, e);
            size_t np = st ? 0 : toy_event_nparticles(e);
            if (!st && pchunk_reserve(c, c->n + np)) st = WR_ERR_NOMEM;
            if (st) {
                j->sc->st[tid] = st;
                return;
            }
            toy_event_particles(e, c->pt + c->n, c->eta + c->n, c->phi + c->n,
                                c->charge + c->n, c->vtx + c->n);
            c->n += np;
            j->counts[i] = (int64_t)np;
            if (j->truth) toy_truth_row(e, ev, j->truth + i * N_TRUTH_COLS);
        }
    }
}

WR_API wr_status wr_toy_particles(const wr_toy *toy, uint64_t seed, int64_t first,
                                  size_t n, int nthreads, int64_t *offsets,
                                  float **pt, float **eta, float **phi,
                                  int32_t **charge, int32_t **vtx, double *truth)
{
    static const char *const FN = "wr_toy_particles";
    wr_status st;
    if ((st = wr__check_ptr(FN, "toy", toy)) || (st = wr__check_ptr(FN, "offsets", offsets)) ||
        (st = wr__check_ptr(FN, "pt", pt)) || (st = wr__check_ptr(FN, "eta", eta)) ||
        (st = wr__check_ptr(FN, "phi", phi)) || (st = wr__check_ptr(FN, "charge", charge)) ||
        (st = wr__check_ptr(FN, "vtx", vtx)))
        return st;
    *pt = *eta = *phi = NULL;
    *charge = *vtx = NULL;
    if ((st = check_range(FN, first, n))) return st;
    offsets[0] = 0;
    size_t chunk = (size_t)toy->p.chunk;
    size_t nchunks = (n + chunk - 1) / chunk;
    scratch sc;
    if ((st = scratch_init(&sc, toy, toy_threads(nthreads, n, chunk), FN))) return st;
    pchunk *chunks = wr__calloc_array(nchunks ? nchunks : 1, sizeof *chunks, FN);
    if (!chunks) {
        scratch_free(&sc);
        return WR_ERR_NOMEM;
    }
    /* progress between blocks of chunks */
    size_t cblock = toy->progress ? (size_t)sc.nt * 4 : (nchunks ? nchunks : 1);
    for (size_t c0 = 0; c0 < nchunks && !st; c0 += cblock) {
        size_t m = nchunks - c0 < cblock ? nchunks - c0 : cblock;
        part_job j = {toy, seed, first, n, chunk, c0, chunks, offsets + 1, truth, &sc};
        wr__pool_for(sc.pool, m, 1, part_range, &j);
        st = scratch_status(&sc, FN);
        size_t done = (c0 + m) * chunk < n ? (c0 + m) * chunk : n;
        if (!st)
            st = wr__progress(toy->progress, toy->progress_user, "toy.particles",
                              (int64_t)done, (int64_t)n, NAN, NAN);
    }
    scratch_free(&sc);
    size_t total = 0;
    if (!st) {
        for (size_t i = 0; i < n; i++) offsets[i + 1] += offsets[i];
        total = (size_t)offsets[n];
        *pt = wr__alloc_array(total, sizeof(float), FN);
        *eta = wr__alloc_array(total, sizeof(float), FN);
        *phi = wr__alloc_array(total, sizeof(float), FN);
        *charge = wr__alloc_array(total, sizeof(int32_t), FN);
        *vtx = wr__alloc_array(total, sizeof(int32_t), FN);
        if (!*pt || !*eta || !*phi || !*charge || !*vtx) st = WR_ERR_NOMEM;
    }
    size_t o = 0;
    for (size_t ci = 0; ci < nchunks; ci++) {
        pchunk *c = &chunks[ci];
        if (!st) {
            memcpy(*pt + o, c->pt, c->n * sizeof(float));
            memcpy(*eta + o, c->eta, c->n * sizeof(float));
            memcpy(*phi + o, c->phi, c->n * sizeof(float));
            memcpy(*charge + o, c->charge, c->n * sizeof(int32_t));
            memcpy(*vtx + o, c->vtx, c->n * sizeof(int32_t));
            o += c->n;
        }
        pchunk_free(c);
    }
    free(chunks);
    if (st) {
        free(*pt), free(*eta), free(*phi), free(*charge), free(*vtx);
        *pt = *eta = *phi = NULL;
        *charge = *vtx = NULL;
    }
    return st;
}

/* ------------------------------------------------------------ density */

#define MASS_NODES 256

/* Truncated Burr XII density of pT. */
static double pt_density(const toy_params *p, const toy_derived *d, double pt)
{
    if (!(pt > 0.0) || pt >= p->pt_max) return 0.0;
    double x = pt / p->pt_scale, xp = pow(x, p->pt_p);
    double f = p->pt_c * p->pt_p / p->pt_scale * (xp / x) * pow(1.0 + xp, -p->pt_c - 1.0);
    return f / (1.0 - d->pt_smax);
}

/* Rapidity density: plateau of half width y_flat with Gaussian edges. */
static double y_density(const toy_params *p, double y)
{
    double norm = 2.0 * p->y_flat + sqrt(2.0 * 3.14159265358979323846) * p->y_sigma;
    double a = fabs(y) - p->y_flat;
    return (a <= 0.0 ? 1.0 : exp(-0.5 * a * a / (p->y_sigma * p->y_sigma))) / norm;
}

/* Squared masses at the midpoints of the Breit-Wigner's atan variable, in
 * which the truncated Breit-Wigner is uniform. */
static void mass_nodes(const wr_toy *t, double *m2)
{
    const toy_params *p = &t->p;
    const toy_derived *d = &t->d;
    for (int k = 0; k < MASS_NODES; k++) {
        double tt = d->bw_t0 + (d->bw_t1 - d->bw_t0) * (k + 0.5) / MASS_NODES;
        m2[k] = p->mass * p->mass + p->mass * p->width * tan(tt);
    }
}

/* The (pT, pL) density without the pT factor: E_m[ h(y) / E ], since for
 * fixed m and pT dy/dpL = 1/E (midpoint rule over the mass nodes). */
static double pl_factor(const toy_params *p, const double *m2, double pt, double pl)
{
    double acc = 0.0;
    for (int k = 0; k < MASS_NODES; k++) {
        double mt = sqrt(m2[k] + pt * pt);
        double E = sqrt(mt * mt + pl * pl);
        acc += y_density(p, asinh(pl / mt)) / E;
    }
    return acc / MASS_NODES;
}

/* p(pT, pL) = f(pT) E_m[ h(y) / E ]. */
static double gen_density(const wr_toy *t, const double *m2, double pt, double pl)
{
    double fpt = pt_density(&t->p, &t->d, pt);
    return fpt == 0.0 ? 0.0 : fpt * pl_factor(&t->p, m2, pt, pl);
}

/* The mass and rapidity knobs decide the pL factor; when two toys share
 * them it cancels in a weight exactly. */
static int same_pl_factor(const toy_params *a, const toy_params *b)
{
    return a->mass == b->mass && a->width == b->width && a->mass_min == b->mass_min &&
           a->mass_max == b->mass_max && a->y_flat == b->y_flat && a->y_sigma == b->y_sigma;
}

static wr_status check_points(const char *fn, size_t n, const double *pt,
                              const double *pl, const double *out)
{
    wr_status st;
    if ((st = wr__check_ptr(fn, "pt", pt)) || (st = wr__check_ptr(fn, "pl", pl)) ||
        (st = wr__check_ptr(fn, "out", out)) || (st = wr__check_finite_d(fn, "pt", pt, n)) ||
        (st = wr__check_finite_d(fn, "pl", pl, n)))
        return st;
    for (size_t i = 0; i < n; i++)
        if (pt[i] < 0.0)
            return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'pt': negative (%g) at index %zu",
                            fn, pt[i], i);
    return WR_OK;
}

WR_API wr_status wr_toy_gen_density(const wr_toy *toy, size_t n, const double *pt,
                                    const double *pl, double *p)
{
    wr_status st;
    if ((st = wr__check_ptr("wr_toy_gen_density", "toy", toy)) ||
        (st = check_points("wr_toy_gen_density", n, pt, pl, p)))
        return st;
    double m2[MASS_NODES];
    mass_nodes(toy, m2);
    for (size_t i = 0; i < n; i++) p[i] = gen_density(toy, m2, pt[i], pl[i]);
    return WR_OK;
}

WR_API wr_status wr_toy_gen_weight(const wr_toy *from, const wr_toy *to, size_t n,
                                   const double *pt, const double *pl, double *w)
{
    static const char *const FN = "wr_toy_gen_weight";
    wr_status st;
    if ((st = wr__check_ptr(FN, "from", from)) || (st = wr__check_ptr(FN, "to", to)) ||
        (st = check_points(FN, n, pt, pl, w)))
        return st;
    if (from->process != to->process)
        return wr__fail(WR_ERR_INVALID_ARG,
                        "%s: 'from' is a %s toy and 'to' a %s toy; the weight needs "
                        "one process", FN, wr_toy_process(from), wr_toy_process(to));
    if (same_pl_factor(&from->p, &to->p)) { /* ratio of the pT spectra */
        for (size_t i = 0; i < n; i++) {
            double a = pt_density(&from->p, &from->d, pt[i]);
            w[i] = a > 0.0 ? pt_density(&to->p, &to->d, pt[i]) / a : 0.0;
        }
        return WR_OK;
    }
    double m2a[MASS_NODES], m2b[MASS_NODES];
    mass_nodes(from, m2a);
    mass_nodes(to, m2b);
    for (size_t i = 0; i < n; i++) {
        double a = gen_density(from, m2a, pt[i], pl[i]);
        w[i] = a > 0.0 ? gen_density(to, m2b, pt[i], pl[i]) / a : 0.0;
    }
    return WR_OK;
}

WR_API wr_status wr_toy_gen_weight_preset(const wr_toy *from, const char *to_preset,
                                          size_t n, const double *pt,
                                          const double *pl, double *w)
{
    static const char *const FN = "wr_toy_gen_weight_preset";
    wr_status st;
    if ((st = wr__check_ptr(FN, "from", from)) || (st = wr__check_ptr(FN, "to_preset", to_preset)))
        return st;
    wr_toy *to = NULL;
    if ((st = wr_toy_create(wr_toy_process(from), to_preset, &to))) {
        wr__error_prefix(FN);
        return st;
    }
    st = wr_toy_gen_weight(from, to, n, pt, pl, w);
    wr_toy_free(to);
    return st;
}
