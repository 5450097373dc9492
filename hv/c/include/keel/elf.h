/* ELF parsing for PVH kernels: validated before anything is allocated. */
#ifndef KEEL_ELF_H
#define KEEL_ELF_H

#include <keel/types.h>

#define ELF_MAX_SEGMENTS 16

struct elf_segment {
    uint64_t paddr;
    uint64_t filesz;
    uint64_t memsz;
    uint64_t offset;
};

struct elf_info {
    bool is64;
    uint32_t phys32_entry;
    unsigned nr_segments;
    struct elf_segment seg[ELF_MAX_SEGMENTS];
    uint64_t lowest, highest; /* physical extent of the segments */
};

/* Parse an image: headers, segments (inside the file, non-overlapping) and
 * the "Xen" PHYS32_ENTRY note.  On failure returns a negative errno and a
 * message in err. */
int elf_parse(const void *image, size_t size, struct elf_info *out, char *err, size_t errlen);

#endif
