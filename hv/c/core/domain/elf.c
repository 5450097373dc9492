/* ELF32/ELF64 parsing for PVH kernels (System V gABI; Xen's elfnote.h for
 * the note).  Everything is bounds-checked against the image size. */
#include <abi.h>
#include <keel/elf.h>
#include <keel/lib.h>

#define PT_LOAD 1
#define PT_NOTE 4

static uint64_t rd(const uint8_t *p, unsigned bytes)
{
    uint64_t v = 0;
    memcpy(&v, p, bytes);
    return v;
}

#define FAIL(...)                                                                                                      \
    do {                                                                                                               \
        snprintf(err, errlen, __VA_ARGS__);                                                                            \
        return -EINVAL;                                                                                                \
    } while (0)

static bool in_file(uint64_t off, uint64_t len, size_t size)
{
    return off <= size && len <= size - off;
}

static bool find_note(const uint8_t *img, size_t size, uint64_t off, uint64_t len, uint32_t *entry)
{
    uint64_t end = off + len;
    while (off + 12 <= end) {
        uint32_t namesz = (uint32_t)rd(img + off, 4);
        uint32_t descsz = (uint32_t)rd(img + off + 4, 4);
        uint32_t type = (uint32_t)rd(img + off + 8, 4);
        uint64_t name = off + 12;
        uint64_t desc = name + ALIGN_UP((uint64_t)namesz, 4);
        uint64_t next = desc + ALIGN_UP((uint64_t)descsz, 4);
        if (next > end || !in_file(off, next - off, size))
            return false;
        if (namesz == 4 && !memcmp(img + name, "Xen", 4) && type == XEN_ELFNOTE_PHYS32_ENTRY &&
            (descsz == 4 || descsz == 8)) {
            *entry = (uint32_t)rd(img + desc, 4);
            return true;
        }
        off = next;
    }
    return false;
}

int elf_parse(const void *image, size_t size, struct elf_info *out, char *err, size_t errlen)
{
    const uint8_t *img = image;
    memset(out, 0, sizeof(*out));
    if (size < 52 || memcmp(img, "\x7f" "ELF", 4))
        FAIL("not an ELF image");
    bool is64 = img[4] == 2;
    if ((img[4] != 1 && img[4] != 2) || img[5] != 1)
        FAIL("unsupported ELF class or byte order");
    if (is64 && size < 64)
        FAIL("truncated ELF header");
    uint16_t machine = (uint16_t)rd(img + 18, 2);
    if (machine != (is64 ? 62 : 3))
        FAIL("not an x86 ELF (machine %u)", machine);
    uint64_t phoff = is64 ? rd(img + 32, 8) : rd(img + 28, 4);
    uint16_t phentsize = (uint16_t)rd(img + (is64 ? 54 : 42), 2);
    uint16_t phnum = (uint16_t)rd(img + (is64 ? 56 : 44), 2);
    if (phentsize < (is64 ? 56 : 32) || !phnum || !in_file(phoff, (uint64_t)phentsize * phnum, size))
        FAIL("bad program header table");
    out->is64 = is64;
    out->lowest = UINT64_MAX;
    bool have_entry = false;

    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *ph = img + phoff + (uint64_t)i * phentsize;
        uint32_t type = (uint32_t)rd(ph, 4);
        uint64_t offset = is64 ? rd(ph + 8, 8) : rd(ph + 4, 4);
        uint64_t paddr = is64 ? rd(ph + 24, 8) : rd(ph + 12, 4);
        uint64_t filesz = is64 ? rd(ph + 32, 8) : rd(ph + 16, 4);
        uint64_t memsz = is64 ? rd(ph + 40, 8) : rd(ph + 20, 4);
        if (type == PT_NOTE) {
            if (!in_file(offset, filesz, size))
                FAIL("note segment outside the file");
            if (!have_entry)
                have_entry = find_note(img, size, offset, filesz, &out->phys32_entry);
            continue;
        }
        if (type != PT_LOAD || !memsz)
            continue;
        if (filesz > memsz)
            FAIL("segment %u: file size larger than memory size", i);
        if (!in_file(offset, filesz, size))
            FAIL("segment %u: data outside the file", i);
        if (paddr + memsz < paddr)
            FAIL("segment %u: address overflow", i);
        for (unsigned j = 0; j < out->nr_segments; j++) {
            const struct elf_segment *s = &out->seg[j];
            if (paddr < s->paddr + s->memsz && s->paddr < paddr + memsz)
                FAIL("segments %u and %u overlap", j, i);
        }
        if (out->nr_segments == ELF_MAX_SEGMENTS)
            FAIL("more than %u loadable segments", ELF_MAX_SEGMENTS);
        out->seg[out->nr_segments++] = (struct elf_segment){ paddr, filesz, memsz, offset };
        out->lowest = MIN(out->lowest, paddr);
        out->highest = MAX(out->highest, paddr + memsz);
    }
    if (!out->nr_segments)
        FAIL("no loadable segments");
    if (!have_entry)
        FAIL("no Xen PHYS32_ENTRY note: not a PVH kernel");
    return 0;
}
