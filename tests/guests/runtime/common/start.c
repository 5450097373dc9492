/* From the assembly entry to test_main and back out. */
#include "rt.h"

void rt_start(uint32_t start_info_paddr)
{
    /* BSS is zero: the boot vCPU's struct percpu says id 0, no recovery. */
    arch_idt_init();
    startinfo_init(start_info_paddr);
    hypervisor_init();

    if (hypervisor.present)
        printf("Keel guest runtime (%s) on a Xen-compatible hypervisor %u.%u (CPUID %#x, %s)\n", arch_flavour,
               hypervisor.version >> 16, hypervisor.version & 0xFFFF, hypervisor.base,
               hypercall_page_installed() ? "hypercall page" : "direct hypercalls");
    else
        printf("Keel guest runtime (%s), no hypervisor\n", arch_flavour);
    if (!start_info)
        printf("warning: no valid start info at %#x\n", start_info_paddr);

    test_main(start_info);
    test_finish();
}
