/* The PVH start info: command line and its options, modules, memory map. */
#include "rt.h"

const struct hvm_start_info *start_info;
const char *test_cmdline = "";

/* Boot data must lie in the identity map (below 4 GiB) to be read. */
static const void *phys(uint64_t paddr)
{
    return paddr && paddr < 0x100000000ULL ? (const void *)(uintptr_t)paddr : NULL;
}

void startinfo_init(uint32_t paddr)
{
    const struct hvm_start_info *si = phys(paddr);

    if (!si || si->magic != XEN_HVM_START_MAGIC_VALUE)
        return;
    start_info = si;
    const char *cmdline = phys(si->cmdline_paddr);
    if (cmdline)
        test_cmdline = cmdline;
}

/* The value of the last "key" or "key=value" word: its start and length. */
static bool find_option(const char *key, const char **val, size_t *len)
{
    size_t klen = strlen(key);
    bool found = false;

    for (const char *p = test_cmdline; *p;) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *word = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        size_t wlen = p - word;
        if (wlen >= klen && !strncmp(word, key, klen) && (wlen == klen || word[klen] == '=')) {
            found = true;
            *val = wlen == klen ? word + klen : word + klen + 1;
            *len = wlen == klen ? 0 : wlen - klen - 1;
        }
    }
    return found;
}

bool cmdline_has(const char *key)
{
    const char *v;
    size_t n;
    return find_option(key, &v, &n);
}

bool cmdline_str(const char *key, char *buf, size_t len)
{
    const char *v;
    size_t n;
    if (!find_option(key, &v, &n))
        return false;
    if (len) {
        if (n > len - 1)
            n = len - 1;
        memcpy(buf, v, n);
        buf[n] = '\0';
    }
    return true;
}

unsigned long long cmdline_ull(const char *key, unsigned long long def)
{
    const char *v, *end;
    size_t n;
    if (!find_option(key, &v, &n) || n == 0)
        return def;
    unsigned long long x = parse_ull(v, &end);
    return end == v + n ? x : def;
}

static bool value_is(const char *v, size_t n, const char *word)
{
    return strlen(word) == n && !strncmp(v, word, n);
}

bool cmdline_bool(const char *key, bool def)
{
    const char *v;
    size_t n;
    if (!find_option(key, &v, &n))
        return def;
    if (n == 0 || value_is(v, n, "1") || value_is(v, n, "yes") || value_is(v, n, "on") || value_is(v, n, "true"))
        return true;
    if (value_is(v, n, "0") || value_is(v, n, "no") || value_is(v, n, "off") || value_is(v, n, "false"))
        return false;
    return def;
}

unsigned nr_modules(void)
{
    return start_info && phys(start_info->modlist_paddr) ? start_info->nr_modules : 0;
}

const struct hvm_modlist_entry *module_entry(unsigned i)
{
    if (i >= nr_modules())
        return NULL;
    return (const struct hvm_modlist_entry *)phys(start_info->modlist_paddr) + i;
}

const char *module_cmdline(unsigned i)
{
    const struct hvm_modlist_entry *m = module_entry(i);
    const char *s = m ? phys(m->cmdline_paddr) : NULL;
    return s ? s : "";
}

/* The memory map fields exist from start info version 1 on. */
unsigned memmap_entries(void)
{
    if (!start_info || start_info->version < 1 || !phys(start_info->memmap_paddr))
        return 0;
    return start_info->memmap_entries;
}

const struct hvm_memmap_table_entry *memmap_entry(unsigned i)
{
    if (i >= memmap_entries())
        return NULL;
    return (const struct hvm_memmap_table_entry *)phys(start_info->memmap_paddr) + i;
}

uint64_t ram_bytes(void)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < memmap_entries(); i++)
        if (memmap_entry(i)->type == XEN_HVM_MEMMAP_TYPE_RAM)
            sum += memmap_entry(i)->size;
    return sum;
}
