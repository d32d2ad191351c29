/* Corpus stand-in for the Lua interpreter (the base image has none): `lua -e CODE` runs the
 * string literal given to os.execute("...") or io.popen("...") through /bin/sh with system(),
 * which is what Lua itself does. Anything else is ignored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int run_call(const char *code, const char *call) {
	const char *p = strstr(code, call);
	if (!p)
		return -1;
	p += strlen(call);
	while (*p == ' ' || *p == '(')
		p++;
	char q = *p;
	if (q != '"' && q != '\'')
		return -1;
	const char *end = strchr(p + 1, q);
	if (!end)
		return -1;
	size_t n = (size_t)(end - p - 1);
	char *cmd = malloc(n + 1);
	if (!cmd)
		return -1;
	memcpy(cmd, p + 1, n);
	cmd[n] = '\0';
	fflush(stdout);
	int rc = system(cmd);
	free(cmd);
	return rc;
}

int main(int argc, char **argv) {
	for (int i = 1; i + 1 < argc; i++) {
		if (strcmp(argv[i], "-e") == 0) {
			if (run_call(argv[i + 1], "os.execute") < 0)
				run_call(argv[i + 1], "io.popen");
			return 0;
		}
	}
	fprintf(stderr, "lua (corpus stub): only -e 'os.execute(\"...\")' is understood\n");
	return 1;
}
