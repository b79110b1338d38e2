/*
 * floor: the signal round-trip floor of this machine. A parent and a child
 * process bounce SIGUSR1 back and forth N times; each waits with
 * sigwaitinfo(2) on a blocked mask and answers with kill(2). Nothing else
 * happens, so no signal protocol between two processes can do an
 * acknowledged exchange faster than this (without spinning).
 *
 * usage: floor <round-trips>
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	sigset_t set;
	siginfo_t info;
	long n, i;
	pid_t child, parent;

	if (argc != 2 || (n = atol(argv[1])) <= 0) {
		fprintf(stderr, "usage: %s <round-trips>\n", argv[0]);
		return 2;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL); /* inherited by the child */
	parent = getpid();
	child = fork();
	if (child < 0) {
		perror("fork");
		return 1;
	}
	if (child == 0) {
		for (i = 0; i < n; i++) {
			if (sigwaitinfo(&set, &info) < 0 || info.si_pid != parent)
				return 1;
			kill(parent, SIGUSR1);
		}
		return 0;
	}
	for (i = 0; i < n; i++) {
		kill(child, SIGUSR1);
		if (sigwaitinfo(&set, &info) < 0)
			return 1;
	}
	int st;
	waitpid(child, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
