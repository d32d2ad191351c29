#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "stats.h"

int main(int argc, char **argv)
{
    int json = 0, status = 0, first = 1;
    struct text_stats total = {0}, st;

    if (argc > 1 && strcmp(argv[1], "--json") == 0) {
        json = 1;
        argv++;
        argc--;
    }
    if (json)
        printf("[");
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "r");
        if (!f || stats_read(f, &st) != 0) {
            perror(argv[i]);
            status = 1;
            if (f)
                fclose(f);
            continue;
        }
        fclose(f);
        total.lines += st.lines;
        total.words += st.words;
        total.bytes += st.bytes;
        if (json)
            printf("%s{\"file\":\"%s\",\"lines\":%lu,\"words\":%lu,\"bytes\":%lu,\"fnv1a\":\"%016" PRIx64 "\"}",
                   first ? "" : ",", argv[i], st.lines, st.words, st.bytes, st.fnv1a);
        else
            printf("%-24s %6lu lines %7lu words %8lu bytes longest %4lu fnv1a %016" PRIx64 "\n", argv[i],
                   st.lines, st.words, st.bytes, st.longest_line, st.fnv1a);
        first = 0;
    }
    if (json)
        printf("]\n");
    else
        printf("%-24s %6lu lines %7lu words %8lu bytes\n", "total", total.lines, total.words, total.bytes);
    return status;
}
