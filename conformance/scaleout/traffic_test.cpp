// ask_each against a server played by hand: an answer to an earlier ask that waits
// in the socket is passed over, and the answer to this ask is taken (a loaded machine delivers
// answers after their ask gave up on them).
#include "scaleout/traffic.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <string>
#include <thread>
#include <utility>

#include <gtest/gtest.h>

namespace vslab::scaleout {
namespace {

// A flow and its "server": ask_each needs only send, recv and poll, which a datagram socket
// pair gives without a network.
std::pair<ClientFlow, os::UniqueFd> udp_pair() {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fds) != 0) return {};
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  return {ClientFlow{os::UniqueFd(fds[0]), 0}, os::UniqueFd(fds[1])};
}

TEST(AskEach, ALateAnswerToAnEarlierAskIsNotTakenForThisOnes) {
  auto [flow, server] = udp_pair();
  ASSERT_TRUE(flow.fd && server);
  // The first ask's answer, late: it waits in the client's socket when the second ask starts.
  const std::string late = "rs1 ?0\n";
  ASSERT_EQ(send(server.get(), late.data(), late.size(), 0), ssize_t(late.size()));
  std::string question;
  std::thread answering([&, fd = server.get()] {
    char buf[64];
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
    question.assign(buf, std::size_t(n));
    const std::string answer = "rs2 " + question;
    send(fd, answer.data(), answer.size(), 0);
  });
  const auto answers = ask_each({&flow}, 5000);
  answering.join();
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].error, "");
  EXPECT_EQ(answers[0].server, "rs2") << "question " << question;
  EXPECT_NE(question, "?0\n");
}

TEST(AskEach, AnAnswerThatNeverComesIsNamed) {
  auto [flow, server] = udp_pair();
  ASSERT_TRUE(flow.fd && server);
  const std::string late = "rs1 ?0\n";
  ASSERT_EQ(send(server.get(), late.data(), late.size(), 0), ssize_t(late.size()));
  const auto answers = ask_each({&flow}, 200);
  EXPECT_EQ(answers[0].server, "");
  EXPECT_EQ(answers[0].error, "no answer within 200 ms");
}

}  // namespace
}  // namespace vslab::scaleout
