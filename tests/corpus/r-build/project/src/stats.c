#include <ctype.h>
#include <string.h>

#include "stats.h"

int stats_read(FILE *in, struct text_stats *st)
{
    int c, in_word = 0;
    unsigned long line_len = 0;

    memset(st, 0, sizeof *st);
    st->fnv1a = 0xcbf29ce484222325ULL;
    while ((c = getc(in)) != EOF) {
        st->bytes++;
        st->fnv1a = (st->fnv1a ^ (unsigned char)c) * 0x100000001b3ULL;
        if (c == '\n') {
            st->lines++;
            if (line_len > st->longest_line)
                st->longest_line = line_len;
            line_len = 0;
        } else {
            line_len++;
        }
        if (isspace(c)) {
            in_word = 0;
        } else if (!in_word) {
            in_word = 1;
            st->words++;
        }
    }
    if (line_len > st->longest_line)
        st->longest_line = line_len;
    return ferror(in) ? -1 : 0;
}
