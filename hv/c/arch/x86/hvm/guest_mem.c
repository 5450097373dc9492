/* Guest physical and virtual memory access (Intel SDM vol. 3A ch. 4 for the
 * walks: 32-bit, PAE and 4-level paging). */
#include <abi.h>
#include <keel/domain.h>
#include <keel/guest_mem.h>
#include <keel/lib.h>
#include <keel/p2m.h>
#include <keel/vcpu.h>
#include <asm/hvm.h>
#include <asm/page.h>

void *gfn_to_virt(struct domain *d, gfn_t gfn, bool write)
{
    mfn_t mfn;
    unsigned perms;
    if (!p2m_lookup(&d->p2m, gfn, &mfn, NULL, &perms))
        return NULL;
    if (write && !(perms & P2M_W))
        return NULL;
    return phys_to_virt(mfn << PAGE_SHIFT);
}

static int gpa_copy(struct domain *d, void *buf, gpa_t gpa, size_t len, int dir)
{
    uint8_t *b = buf;
    while (len) {
        size_t off = gpa & (PAGE_SIZE - 1);
        size_t n = MIN(len, PAGE_SIZE - off);
        uint8_t *p = gfn_to_virt(d, gpa >> PAGE_SHIFT, dir != 0);
        if (!p)
            return -EFAULT;
        if (dir == 0)
            memcpy(b, p + off, n);
        else if (dir == 1)
            memcpy(p + off, b, n);
        else
            memset(p + off, 0, n);
        if (b)
            b += n;
        gpa += n;
        len -= n;
    }
    return 0;
}

int copy_from_gpa(struct domain *d, void *dst, gpa_t src, size_t len)
{
    return gpa_copy(d, dst, src, len, 0);
}

int copy_to_gpa(struct domain *d, gpa_t dst, const void *src, size_t len)
{
    return gpa_copy(d, (void *)src, dst, len, 1);
}

int clear_gpa(struct domain *d, gpa_t dst, size_t len)
{
    return gpa_copy(d, NULL, dst, len, 2);
}

#define PT_P (1ULL << 0)
#define PT_W (1ULL << 1)
#define PT_PS (1ULL << 7)

static int read_pte(struct domain *d, gpa_t addr, uint64_t *pte, bool wide)
{
    if (wide)
        return copy_from_gpa(d, pte, addr, 8);
    uint32_t e;
    int rc = copy_from_gpa(d, &e, addr, 4);
    *pte = e;
    return rc;
}

int guest_translate(struct vcpu *v, gva_t va, bool write, gpa_t *gpa)
{
    struct domain *d = v->domain;
    uint64_t cr0 = hvm->get_reg(v, HVM_CR0);
    uint64_t cr4 = hvm->get_reg(v, HVM_CR4);
    uint64_t efer = hvm->get_reg(v, HVM_EFER);
    uint64_t cr3 = hvm->get_reg(v, HVM_CR3);
    /* Supervisor writes honour read-only pages only with CR0.WP. */
    bool check_w = write && (cr0 & X86_CR0_WP);
    uint64_t pte;

    if (!(cr0 & X86_CR0_PG)) {
        *gpa = (efer & EFER_LMA) ? va : (uint32_t)va;
        return 0;
    }
    if (efer & EFER_LMA) {
        /* 4-level: reject non-canonical addresses. */
        if ((uint64_t)((int64_t)(va << 16) >> 16) != va)
            return -EFAULT;
        gpa_t table = cr3 & 0x000FFFFFFFFFF000ULL;
        for (int level = 3; level >= 0; level--) {
            unsigned idx = (unsigned)((va >> (12 + 9 * level)) & 511);
            if (read_pte(d, table + idx * 8, &pte, true) || !(pte & PT_P) || (check_w && !(pte & PT_W)))
                return -EFAULT;
            if (level == 0 || ((pte & PT_PS) && level <= 2)) {
                uint64_t mask = (1ULL << (12 + 9 * level)) - 1;
                *gpa = (pte & 0x000FFFFFFFFFF000ULL & ~mask) | (va & mask);
                return 0;
            }
            table = pte & 0x000FFFFFFFFFF000ULL;
        }
        return -EFAULT;
    }
    va = (uint32_t)va;
    if (cr4 & X86_CR4_PAE) {
        /* PAE: four PDPTEs at CR3 (32-byte aligned), then 2 levels. */
        if (read_pte(d, (cr3 & 0xFFFFFFE0ULL) + ((va >> 30) & 3) * 8, &pte, true) || !(pte & PT_P))
            return -EFAULT;
        gpa_t table = pte & 0x000FFFFFFFFFF000ULL;
        for (int level = 1; level >= 0; level--) {
            unsigned idx = (unsigned)((va >> (12 + 9 * level)) & 511);
            if (read_pte(d, table + idx * 8, &pte, true) || !(pte & PT_P) || (check_w && !(pte & PT_W)))
                return -EFAULT;
            if (level == 0 || (pte & PT_PS)) {
                uint64_t mask = (1ULL << (12 + 9 * level)) - 1;
                *gpa = (pte & 0x000FFFFFFFFFF000ULL & ~mask) | (va & mask);
                return 0;
            }
            table = pte & 0x000FFFFFFFFFF000ULL;
        }
        return -EFAULT;
    }
    /* 32-bit paging: 2 levels, 4 MiB pages with CR4.PSE. */
    if (read_pte(d, (cr3 & 0xFFFFF000ULL) + (va >> 22) * 4, &pte, false) || !(pte & PT_P) ||
        (check_w && !(pte & PT_W)))
        return -EFAULT;
    if ((pte & PT_PS) && (cr4 & X86_CR4_PSE)) {
        *gpa = (pte & 0xFFC00000ULL) | ((pte & 0x1FE000ULL) << 19) | (va & 0x3FFFFF);
        return 0;
    }
    if (read_pte(d, (pte & 0xFFFFF000ULL) + ((va >> 12) & 1023) * 4, &pte, false) || !(pte & PT_P) ||
        (check_w && !(pte & PT_W)))
        return -EFAULT;
    *gpa = (pte & 0xFFFFF000ULL) | (va & 0xFFF);
    return 0;
}

static int gva_copy(struct vcpu *v, void *buf, gva_t va, size_t len, bool to_guest)
{
    uint8_t *b = buf;
    while (len) {
        size_t n = MIN(len, PAGE_SIZE - (va & (PAGE_SIZE - 1)));
        gpa_t gpa;
        if (guest_translate(v, va, to_guest, &gpa))
            return -EFAULT;
        int rc = to_guest ? copy_to_gpa(v->domain, gpa, b, n) : copy_from_gpa(v->domain, b, gpa, n);
        if (rc)
            return rc;
        b += n;
        va += n;
        len -= n;
    }
    return 0;
}

int copy_from_guest(struct vcpu *v, void *dst, gva_t src, size_t len)
{
    return gva_copy(v, dst, src, len, false);
}

int copy_to_guest(struct vcpu *v, gva_t dst, const void *src, size_t len)
{
    return gva_copy(v, (void *)src, dst, len, true);
}
