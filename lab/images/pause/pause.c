/* The pod sandbox process: hold the namespaces, reap children, exit on TERM/INT. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void reap(int sig) {
	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0) {
	}
}

static void quit(int sig) {
	(void)sig;
	_exit(0);
}

int main(void) {
	if (getpid() != 1) {
		/* not fatal: useful when run by hand */
		write(2, "pause: not running as PID 1\n", 28);
	}
	signal(SIGINT, quit);
	signal(SIGTERM, quit);
	signal(SIGCHLD, reap);
	for (;;) {
		pause();
	}
	return 0;
}
