// Raw Linux system calls for the native extension, so that one build serves glibc and musl alike:
// the extension is built with -nostdlib and calls the kernel directly wherever it can.

#ifndef SLUICE_SYSCALLS_H
#define SLUICE_SYSCALLS_H

typedef unsigned long u64;

#if defined(__x86_64__)
#define SYS_READ 0
#define SYS_CLOSE 3
#define SYS_MADVISE 28
#define SYS_FUTEX 202
#define SYS_CLOCK_GETTIME 228
#define SYS_OPENAT 257
static inline long syscall4(long n, long a, long b, long c, long d) {
  long r;
  register long r10 __asm__("r10") = d;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
  return r;
}
#elif defined(__aarch64__)
#define SYS_OPENAT 56
#define SYS_CLOSE 57
#define SYS_READ 63
#define SYS_FUTEX 98
#define SYS_CLOCK_GETTIME 113
#define SYS_MADVISE 233
static inline long syscall4(long n, long a, long b, long c, long d) {
  register long x8 __asm__("x8") = n, x0 __asm__("x0") = a, x1 __asm__("x1") = b, x2 __asm__("x2") = c, x3 __asm__("x3") = d;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
  return x0;
}
#else
#error "src/native: only x86_64 and aarch64 Linux"
#endif

#endif
