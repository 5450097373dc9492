/* Wall-clock time at boot from the CMOS real-time clock (MC146818: BCD or
 * binary, 12- or 24-hour), read once to fill the guests' wallclock. */
#include <keel/lib.h>
#include <keel/printk.h>
#include <keel/time.h>
#include <asm/io.h>

uint64_t boot_wallclock_sec;

static uint8_t cmos(uint8_t reg)
{
    outb(0x70, reg);
    return inb(0x71);
}

static unsigned bcd(uint8_t v, bool binary)
{
    return binary ? v : (unsigned)((v >> 4) * 10 + (v & 0xF));
}

static uint64_t days_from_civil(unsigned y, unsigned m, unsigned d)
{
    /* Days since 1970-01-01 (proleptic Gregorian). */
    y -= m <= 2;
    uint64_t era = y / 400;
    uint64_t yoe = y - era * 400;
    uint64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    uint64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void rtc_read_boot_time(void)
{
    /* Wait until no update is in progress (register A bit 7). */
    for (int i = 0; i < 100000 && (cmos(0x0A) & 0x80); i++)
        ;
    uint8_t b = cmos(0x0B);
    bool binary = b & 0x04, h24 = b & 0x02;
    unsigned sec = bcd(cmos(0x00), binary), min = bcd(cmos(0x02), binary);
    uint8_t hraw = cmos(0x04);
    unsigned hour = bcd(hraw & 0x7F, binary);
    if (!h24 && (hraw & 0x80))
        hour = (hour % 12) + 12;
    unsigned day = bcd(cmos(0x07), binary), mon = bcd(cmos(0x08), binary), year = bcd(cmos(0x09), binary) + 2000;
    if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) {
        pr_warn("RTC: implausible date, wallclock starts at the epoch\n");
        return;
    }
    uint64_t now = days_from_civil(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec;
    uint64_t up = time_now_ns() / 1000000000ULL;
    boot_wallclock_sec = now > up ? now - up : 0;
    pr_info("RTC: %04u-%02u-%02u %02u:%02u:%02u UTC\n", year, mon, day, hour, min, sec);
}
