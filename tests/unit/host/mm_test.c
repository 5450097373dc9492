/* Helpers shared by the frame allocator and heap host tests. */
#define _DEFAULT_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mm_test.h"
#include "shim.h"

#include <asm/page.h>
#include <keel/panic.h>

static void *phys_base;
static uint64_t phys_bytes;

void mm_test_phys_init(uint64_t bytes)
{
    /* NORESERVE: tests describe many GiB of "RAM" but touch little of it. */
    phys_base = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (phys_base == MAP_FAILED) {
        perror("mmap of the test's physical memory");
        exit(2);
    }
    phys_bytes = bytes;
    host_directmap_base = (uintptr_t)phys_base;
}

void mm_test_phys_discard(void)
{
    mm_test_phys_access(0, phys_bytes, true);
    if (madvise(phys_base, phys_bytes, MADV_DONTNEED))
        perror("madvise");
}

void mm_test_phys_access(paddr_t start, paddr_t end, bool accessible)
{
    start = ALIGN_DOWN(start, PAGE_SIZE);
    end = MIN(ALIGN_UP(end, PAGE_SIZE), phys_bytes);
    int prot = accessible ? PROT_READ | PROT_WRITE : PROT_NONE;
    if (start < end && mprotect((char *)phys_base + start, end - start, prot))
        perror("mprotect");
}

uint64_t mm_rng_next(struct mm_rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1DULL;
}

uint64_t mm_rng_below(struct mm_rng *r, uint64_t n)
{
    return n ? mm_rng_next(r) % n : 0;
}

bool mm_test_panics(void (*fn)(void *), void *arg, const char *expect)
{
    int fds[2];
    char buf[4096];
    size_t len = 0;
    int status;

    fflush(NULL);
    if (pipe(fds))
        return false;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        fn(arg);
        _exit(0); /* returned: no panic */
    }
    close(fds[1]);
    for (ssize_t n; (n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0;)
        len += (size_t)n;
    buf[len] = '\0';
    close(fds[0]);
    waitpid(pid, &status, 0);
    bool ok = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && strstr(buf, PANIC_MARKER) && strstr(buf, expect);
    if (!ok)
        fprintf(stderr, "expected a panic with '%s'; child status %#x said: %s\n", expect, status, buf);
    return ok;
}

void mm_map_add(struct mm_map *m, uint64_t base, uint64_t size, uint32_t type)
{
    if (m->n < BOOT_MAX_MEMMAP)
        m->r[m->n++] = (struct boot_mem_region){ base, size, type };
}
