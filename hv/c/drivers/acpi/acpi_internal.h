/* Helpers shared by the ACPI table parsers (not part of the public API). */
#ifndef DRIVERS_ACPI_INTERNAL_H
#define DRIVERS_ACPI_INTERNAL_H

#include <keel/lib.h>
#include <keel/types.h>

/* Table fields are little-endian and often unaligned: copy, never cast. */
static inline uint16_t acpi_rd16(const uint8_t *b, size_t off)
{
    uint16_t v;
    memcpy(&v, b + off, sizeof(v));
    return v;
}

static inline uint32_t acpi_rd32(const uint8_t *b, size_t off)
{
    uint32_t v;
    memcpy(&v, b + off, sizeof(v));
    return v;
}

static inline uint64_t acpi_rd64(const uint8_t *b, size_t off)
{
    uint64_t v;
    memcpy(&v, b + off, sizeof(v));
    return v;
}

#endif
