#ifndef TEXTSTATS_STATS_H
#define TEXTSTATS_STATS_H

#include <stdint.h>
#include <stdio.h>

struct text_stats {
    unsigned long lines;
    unsigned long words;
    unsigned long bytes;
    unsigned long longest_line;
    uint64_t fnv1a;
};

/* Reads all of `in` and fills `st`. Returns 0, or -1 on a read error. */
int stats_read(FILE *in, struct text_stats *st);

#endif
