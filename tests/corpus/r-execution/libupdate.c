/* Corpus "malicious" shared module: its constructor only prints a line when it is loaded. */
#include <unistd.h>

__attribute__((constructor)) static void on_load(void) {
	static const char msg[] = "[libupdate] loaded: a constructor ran in the loading process\n";
	(void)!write(2, msg, sizeof msg - 1);
}
