/*
 * cclient: the classic minitalk client, the benchmark's C baseline (see
 * cserver.c): 8 bits a character and a NUL at the end, each bit sent and
 * then waited for with sigsuspend(2) until the server's SIGUSR1
 * acknowledges it (the signals blocked in between, so no acknowledgement is
 * missed).
 *
 * usage: cclient <server-pid> <message>
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t acked;

static void on_ack(int sig)
{
	(void)sig;
	acked = 1;
}

static void send_byte(pid_t pid, unsigned char c, sigset_t *wait)
{
	int i;

	for (i = 7; i >= 0; i--) {
		acked = 0;
		if (kill(pid, (c >> i) & 1 ? SIGUSR1 : SIGUSR2) < 0) {
			perror("kill");
			exit(1);
		}
		while (!acked)
			sigsuspend(wait);
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	sigset_t block, wait;
	pid_t pid;
	const char *s;

	if (argc != 3 || (pid = atoi(argv[1])) <= 0) {
		fprintf(stderr, "usage: %s <server-pid> <message>\n", argv[0]);
		return 2;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_ack;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &wait);
	sigdelset(&wait, SIGUSR1);
	for (s = argv[2]; *s; s++)
		send_byte(pid, (unsigned char)*s, &wait);
	send_byte(pid, 0, &wait);
	return 0;
}
