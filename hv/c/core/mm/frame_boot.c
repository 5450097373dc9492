/* frame_init(): the frame allocator built from what the boot loader said. */
#include <keel/boot.h>
#include <keel/cmdline.h>
#include <keel/mm.h>
#include <keel/printk.h>

#include "frame_internal.h"

/* hv.ld: the whole image, .bss included, in physical addresses. */
extern char __image_start_phys[], __image_end_phys[];

/* mem=SIZE: ignore RAM at and above this physical address (testing small
 * machines, working around bad RAM at the top).  Firmware-reserved and ACPI
 * memory are never used whatever the limit. */
static uint64_t mem_limit;
size_param("mem", mem_limit);

void frame_init(void)
{
    static struct phys_range reserved[1 + BOOT_MAX_MODULES];
    struct frame_stats st;
    size_t n = 0;

    reserved[n++] = (struct phys_range){ (paddr_t)(uintptr_t)__image_start_phys, (paddr_t)(uintptr_t)__image_end_phys };
    for (unsigned i = 0; i < boot_info.nr_mods && n < ARRAY_SIZE(reserved); i++)
        reserved[n++] = (struct phys_range){ boot_info.mods[i].start, boot_info.mods[i].end };

    frame_setup(&(struct frame_layout){ boot_info.mem, boot_info.nr_mem, reserved, n, mem_limit });

    frame_get_stats(&st);
    pr_info("Memory: %lu MiB RAM, %lu MiB free, %lu MiB reserved (%lu KiB frame metadata), highest RAM %#lx%s\n",
            (unsigned long)(st.total_pages >> 8), (unsigned long)(st.free_pages >> 8),
            (unsigned long)(st.reserved_pages >> 8), (unsigned long)(st.metadata_pages * 4),
            (unsigned long)st.highest_ram, mem_limit ? " (mem= limit)" : "");
}
