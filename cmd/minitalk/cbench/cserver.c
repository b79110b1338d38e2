/*
 * cserver: the classic minitalk server, written here as the benchmark's C
 * baseline. One acknowledged exchange a bit: SIGUSR1 is 1, SIGUSR2 is 0,
 * 8 bits a character, most significant first, and a NUL character ends the
 * message. Each bit is taken by a SA_SIGINFO handler and acknowledged with
 * SIGUSR1 to its sender; the message is printed with a newline at its end.
 * It serves one client at a time and has none of the robustness of
 * cmd/minitalk (no busy answer, no timeouts, no check): it is the fast,
 * simple design most minitalk implementations share.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *buf;
static size_t len, cap;
static volatile sig_atomic_t cur, nbits;

static void put(char c)
{
	if (len == cap) {
		cap = cap ? 2 * cap : 4096;
		buf = realloc(buf, cap);
		if (!buf)
			_exit(1);
	}
	buf[len++] = c;
}

static void on_bit(int sig, siginfo_t *info, void *ctx)
{
	(void)ctx;
	cur = (cur << 1) | (sig == SIGUSR1);
	if (++nbits == 8) {
		if (cur == 0) {
			put('\n');
			write(1, buf, len);
			len = 0;
		} else {
			put((char)cur);
		}
		cur = 0;
		nbits = 0;
	}
	kill(info->si_pid, SIGUSR1);
}

int main(void)
{
	struct sigaction sa;
	char pid[32];
	int n;

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_bit;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR1);
	sigaddset(&sa.sa_mask, SIGUSR2);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	n = snprintf(pid, sizeof pid, "%d\n", getpid());
	write(1, pid, n);
	for (;;)
		pause();
}
