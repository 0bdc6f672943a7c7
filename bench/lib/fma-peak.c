/*
 * The machine's fp32 FMA peak, the ceiling that bench/lib/flops.ts's CEILING_GFLOPS stands for:
 * each thread runs 12 independent chains of AVX-512 fused multiply-adds (enough to cover the FMA
 * latency on both ports), nothing else; AVX2 ones (8 lanes) where built without AVX-512.
 *
 *   gcc -O3 -funroll-all-loops -mavx512f -pthread -o /tmp/fma-peak bench/lib/fma-peak.c
 *   gcc -O3 -funroll-all-loops -mavx2 -mfma -pthread -o /tmp/fma-peak bench/lib/fma-peak.c
 *   /tmp/fma-peak 1; /tmp/fma-peak 2
 *
 * (-O3 -funroll-all-loops keeps the 12 chains in registers: at -O2 they live in memory and the
 * figure is a third of the peak.)
 */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define FMAS_PER_THREAD 2000000000L
#define CHAINS 12

#ifdef __AVX512F__
typedef __m512 vec;
#define LANES 16
#define SET1 _mm512_set1_ps
#define FMADD _mm512_fmadd_ps
static float lanes_sum(vec v) { return _mm512_reduce_add_ps(v); }
#else
typedef __m256 vec;
#define LANES 8
#define SET1 _mm256_set1_ps
#define FMADD _mm256_fmadd_ps
static float lanes_sum(vec v) {
  float x[LANES], s = 0;
  _mm256_storeu_ps(x, v);
  for (int i = 0; i < LANES; i++) s += x[i];
  return s;
}
#endif

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static void *work(void *out) {
  vec acc[CHAINS];
  const vec b = SET1(1.0000001f), c = SET1(0.9999999f);
  for (int i = 0; i < CHAINS; i++) acc[i] = SET1((float)i);
  for (long n = 0; n < FMAS_PER_THREAD / CHAINS; n++)
    for (int i = 0; i < CHAINS; i++) acc[i] = FMADD(acc[i], b, c);
  float sum = 0; /* read back so the chains are not optimised away */
  for (int i = 0; i < CHAINS; i++) sum += lanes_sum(acc[i]);
  *(float *)out = sum;
  return NULL;
}

int main(int argc, char **argv) {
  const int threads = argc > 1 ? atoi(argv[1]) : 2;
  if (threads < 1 || threads > 64) return 2;
  pthread_t th[64];
  float sums[64];
  const double t0 = seconds();
  for (int i = 0; i < threads; i++) pthread_create(&th[i], NULL, work, &sums[i]);
  for (int i = 0; i < threads; i++) pthread_join(th[i], NULL);
  const double dt = seconds() - t0;
  const double flops = (double)threads * (FMAS_PER_THREAD / CHAINS) * CHAINS * LANES * 2;
  printf("%d thread(s): %.1f GFLOP/s fp32 FMA (%.2f s; checksum %g)\n", threads, flops / dt / 1e9, dt, sums[0]);
  return 0;
}
