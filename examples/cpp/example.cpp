// examples/cpp/example.cpp -- libwrecoil from C++: status codes turned into
// exceptions, std::vector buffers, and a batch of random events through
// wr_recoil_features on one and on two threads (the results must be equal).
//
//   c++ -std=c++17 example.cpp $(pkg-config --cflags --libs wrecoil) -o example
//   ./example
#include <wrecoil.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace wrecoil {

// One exception type carrying the status code and wr_last_error().
class Error : public std::runtime_error {
  public:
    Error(wr_status code, const std::string &msg)
        : std::runtime_error(std::string(wr_status_string(code)) + ": " + msg),
          code_(code) {}
    wr_status code() const noexcept { return code_; }

  private:
    wr_status code_;
};

inline void check(wr_status st)
{
    if (st != WR_OK) throw Error(st, wr_last_error());
}

// Events in the flat layout wr_recoil_features takes (CSR offsets).
struct Events {
    std::vector<int64_t> offsets{0};
    std::vector<float> pt, eta, phi, htrue;
    std::vector<int32_t> charge, vtx;
    size_t size() const { return offsets.size() - 1; }
};

struct Features {
    std::vector<float> x, targets;
    std::vector<uint8_t> no_tk;
};

Features recoil_features(const Events &ev, int nthreads)
{
    Features f;
    f.x.resize(ev.size() * WR_N_FEATURES);
    f.targets.resize(ev.size() * 2);
    f.no_tk.resize(ev.size());
    check(wr_recoil_features(ev.size(), ev.offsets.data(), ev.pt.data(), ev.eta.data(),
                             ev.phi.data(), ev.charge.data(), ev.vtx.data(),
                             ev.htrue.data(), nthreads, f.x.data(), nullptr,
                             f.no_tk.data(), f.targets.data()));
    return f;
}

} // namespace wrecoil

// A crude W event: a boson pT drawn from an exponential, the hadronic
// recoil balancing it spread over charged and neutral particles, plus
// pileup tracks and clusters.
static wrecoil::Events generate(size_t n, unsigned seed)
{
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> uphi(-3.14159265f, 3.14159265f), ueta(-2.4f, 2.4f);
    std::exponential_distribution<float> boson_pt(1.0f / 8.0f), soft(1.0f / 1.5f);
    std::poisson_distribution<int> n_hard(6), n_pu(12);
    wrecoil::Events ev;
    for (size_t i = 0; i < n; i++) {
        float v = boson_pt(rng), vphi = uphi(rng);
        ev.htrue.push_back(-v * std::cos(vphi));
        ev.htrue.push_back(-v * std::sin(vphi));
        int nh = n_hard(rng), np = n_pu(rng);
        for (int k = 0; k < nh + np; k++) {
            bool hard = k < nh, charged = rng() % 3 != 0;
            float p = (hard ? v / (float)(nh + 1) : 0.0f) + soft(rng) + (charged ? 0.5f : 1.0f);
            float ph = hard ? vphi + 3.14159265f + 0.6f * (uphi(rng) / 3.14159265f) : uphi(rng);
            ev.pt.push_back(p);
            ev.eta.push_back(ueta(rng));
            ev.phi.push_back(std::remainder(ph, 2.0f * 3.14159265f));
            ev.charge.push_back(charged ? (rng() % 2 ? 1 : -1) : 0);
            ev.vtx.push_back(!charged ? -1 : hard ? 0 : 1 + (int32_t)(rng() % 20));
        }
        ev.offsets.push_back((int64_t)ev.pt.size());
    }
    return ev;
}

int main()
{
    std::printf("libwrecoil %s from C++\n", wr_version_string());
    int failures = 0;
    auto expect = [&failures](bool ok, const char *what) {
        std::printf("  [%s] %s\n", ok ? " ok " : "FAIL", what);
        if (!ok) failures++;
    };

    try {
        wrecoil::Events ev = generate(2000, 2026);
        wrecoil::Features one = wrecoil::recoil_features(ev, 1);
        wrecoil::Features two = wrecoil::recoil_features(ev, 2);
        double sum_htk = 0, sum_ln_e1 = 0;
        size_t with_tk = 0;
        for (size_t i = 0; i < ev.size(); i++) {
            if (one.no_tk[i]) continue;
            with_tk++;
            sum_htk += one.x[i * WR_N_FEATURES + WR_F_H_TK];
            sum_ln_e1 += one.targets[2 * i];
        }
        std::printf("  %zu events, %zu with a TK recoil: mean h_tk %.2f GeV, mean ln_e1 %+.3f\n",
                    ev.size(), with_tk, sum_htk / (double)with_tk, sum_ln_e1 / (double)with_tk);
        expect(with_tk > ev.size() / 2, "most events have a TK recoil");
        expect(one.x == two.x && one.targets == two.targets && one.no_tk == two.no_tk,
               "1 and 2 threads give identical features");
    } catch (const wrecoil::Error &e) {
        std::printf("  unexpected error: %s\n", e.what());
        failures++;
    }

    // A buffer that is not a model: the error becomes an exception.
    std::vector<unsigned char> junk(100, 0x42);
    try {
        int kind = 0;
        wrecoil::check(wr_model_inspect(junk.data(), junk.size(), &kind, nullptr));
        expect(false, "junk is rejected");
    } catch (const wrecoil::Error &e) {
        std::printf("  caught: %s\n", e.what());
        expect(e.code() == WR_ERR_FORMAT, "junk is rejected as WR_ERR_FORMAT");
    }

    std::printf("%s\n", failures ? "example (C++): FAILED" : "example (C++): all checks passed");
    return failures ? 1 : 0;
}
