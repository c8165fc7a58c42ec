// The SIP Call-ID as ip_vs_pe_sip.c finds it: each rule of sip_call_id.h with a message that
// meets it, one that breaks it, and truncations of a good message at every length.
#include "fwd/sip_call_id.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vsd::fwd {
namespace {

std::optional<std::string> call_id(const std::string& message) {
  const std::vector<uint8_t> bytes(message.begin(), message.end());
  auto found = sip_call_id(bytes);
  if (!found) return std::nullopt;
  return std::string(*found);
}

const std::string kRequestLine = "INVITE sip:bob@example.com SIP/2.0\r\n";

TEST(SipCallId, FindsTheFullHeader) {
  EXPECT_EQ(call_id(kRequestLine + "Via: SIP/2.0/UDP a\r\nCall-ID: a84b4c76e66710\r\n\r\n"),
            "a84b4c76e66710");
}

TEST(SipCallId, TakesWordAtHost) {
  EXPECT_EQ(call_id(kRequestLine + "Call-ID: 3848276298220188511@atlanta.example.com\r\n\r\n"),
            "3848276298220188511@atlanta.example.com");
}

TEST(SipCallId, FindsTheCompactForm) {
  EXPECT_EQ(call_id(kRequestLine + "i: f81d4fae-7dec\r\n\r\n"), "f81d4fae-7dec");
  EXPECT_EQ(call_id(kRequestLine + "I:f81d4fae\r\n\r\n"), "f81d4fae");
}

TEST(SipCallId, TheCompactFormNeedsANonLetterAfterIt) {
  // "Info: x" is not a compact Call-ID; the real one after it is found.
  EXPECT_EQ(call_id(kRequestLine + "Info: x\r\ni: real\r\n\r\n"), "real");
}

TEST(SipCallId, TheNameIsCaseInsensitive) {
  EXPECT_EQ(call_id(kRequestLine + "call-id: lower\r\n\r\n"), "lower");
  EXPECT_EQ(call_id(kRequestLine + "CALL-ID: upper\r\n\r\n"), "upper");
  EXPECT_EQ(call_id(kRequestLine + "cAlL-Id: mixed\r\n\r\n"), "mixed");
}

TEST(SipCallId, BlanksAroundTheColonAreSkipped) {
  EXPECT_EQ(call_id(kRequestLine + "Call-ID \t :  \t abc\r\n\r\n"), "abc");
}

TEST(SipCallId, FoldedLinesAreFollowedBeforeAndAfterTheColon) {
  EXPECT_EQ(call_id(kRequestLine + "Call-ID:\r\n   folded-value\r\n\r\n"), "folded-value");
  EXPECT_EQ(call_id(kRequestLine + "Call-ID\r\n\t: after-fold\r\n\r\n"), "after-fold");
  EXPECT_EQ(call_id(kRequestLine + "Call-ID:\n lf-fold\n\n"), "lf-fold");
}

TEST(SipCallId, ALineBreakWithoutAFoldAfterTheColonEndsTheSearch) {
  EXPECT_EQ(call_id(kRequestLine + "Call-ID:\r\nCall-ID: second\r\n\r\n"), std::nullopt);
}

TEST(SipCallId, AContinuationLineIsNoHeader) {
  EXPECT_EQ(call_id(kRequestLine + "Subject: x\r\n Call-ID: hidden\r\n\r\n"), std::nullopt);
}

TEST(SipCallId, TheFirstLineIsNoHeader) {
  EXPECT_EQ(call_id("Call-ID: first-line\r\n\r\n"), std::nullopt);
}

TEST(SipCallId, LoneCrAndLoneLfEndLinesToo) {
  EXPECT_EQ(call_id("INVITE x SIP/2.0\rCall-ID: cr-only\r"), "cr-only");
  EXPECT_EQ(call_id("INVITE x SIP/2.0\nCall-ID: lf-only\n"), "lf-only");
}

TEST(SipCallId, MissingIsNothing) {
  EXPECT_EQ(call_id(kRequestLine + "Via: SIP/2.0/UDP a\r\nCSeq: 1 INVITE\r\n\r\n"), std::nullopt);
  EXPECT_EQ(call_id(""), std::nullopt);
  EXPECT_EQ(call_id("\r\n"), std::nullopt);
}

TEST(SipCallId, ANameWithoutAColonEndsTheSearch) {
  // The kernel stops at the first line that starts with the name but has no colon after it.
  EXPECT_EQ(call_id(kRequestLine + "Call-IDx: a\r\nCall-ID: b\r\n\r\n"), std::nullopt);
  EXPECT_EQ(call_id(kRequestLine + "i-x: a\r\nCall-ID: b\r\n\r\n"), std::nullopt);
}

TEST(SipCallId, AnEmptyValueMakesTheSearchGoOn) {
  EXPECT_EQ(call_id(kRequestLine + "Call-ID: ;\r\nCall-ID: second\r\n\r\n"), "second");
  EXPECT_EQ(call_id(kRequestLine + "Call-ID: word@\r\ni: third\r\n\r\n"), "third");
}

TEST(SipCallId, ASecondEmptyValueSkipsAheadAsTheKernelDoes) {
  // After the first empty value the search resumes at that value (offset v1); after the
  // second at v1 + v2, past the next header here, so the kernel finds nothing.
  const std::string message = kRequestLine + "i: ;\r\ni: ;\r\ni: found\r\n\r\n";
  EXPECT_EQ(call_id(message), std::nullopt);
  // With enough room before the third, the jump lands before it and it is found.
  const std::string padded =
      kRequestLine + "i: ;\r\ni: ;\r\n" + std::string(100, 'x') + "\r\ni: found\r\n\r\n";
  EXPECT_EQ(call_id(padded), "found");
}

TEST(SipCallId, TheValueMustEndTheLine) {
  EXPECT_EQ(call_id(kRequestLine + "Call-ID: two words\r\n\r\n"), std::nullopt);
  EXPECT_EQ(call_id(kRequestLine + "Call-ID: trailing \r\n\r\n"), std::nullopt);
  EXPECT_EQ(call_id(kRequestLine + "Call-ID: a;tag\r\n\r\n"), std::nullopt);
}

TEST(SipCallId, AValueAtTheEndOfTheDatagramIsRefused) {
  EXPECT_EQ(call_id(kRequestLine + "Call-ID: abc"), std::nullopt);
}

TEST(SipCallId, TheLengthLimitIs255) {
  EXPECT_EQ(call_id(kRequestLine + "Call-ID: " + std::string(255, 'a') + "\r\n"),
            std::string(255, 'a'));
  EXPECT_EQ(call_id(kRequestLine + "Call-ID: " + std::string(256, 'a') + "\r\n"), std::nullopt);
}

TEST(SipCallId, WordCharactersAreTheKernels) {
  const std::string word = "aZ09-.!%*_+`'~()<>:\\\"/[]?{}";
  EXPECT_EQ(call_id(kRequestLine + "Call-ID: " + word + "\r\n"), word);
  // Latin-1 letters are letters to the kernel's ctype; its multiplication sign is not.
  EXPECT_EQ(call_id(kRequestLine + "Call-ID: a\xc9"
                                   "b\r\n"),
            "a\xc9"
            "b");
  EXPECT_EQ(call_id(kRequestLine + "Call-ID: a\xd7"
                                   "b\r\n"),
            std::nullopt);
  EXPECT_EQ(call_id(kRequestLine + "Call-ID: a,b\r\n"), std::nullopt);
}

TEST(SipCallId, TheBodyIsSearchedToo) {
  // nf_conntrack_sip searches the whole payload; so does the engine.
  EXPECT_EQ(call_id(kRequestLine + "Content-Length: 9\r\n\r\ni: inbody\r\n"), "inbody");
}

TEST(SipCallId, EveryTruncationIsSafe) {
  const std::string whole = kRequestLine + "Via: SIP/2.0/UDP a\r\nCall-ID:\r\n abc@def\r\n\r\n";
  ASSERT_EQ(call_id(whole), "abc@def");
  for (std::size_t n = 0; n < whole.size(); ++n) {
    auto found = call_id(whole.substr(0, n));
    // Cut before the line end after the value, there is none; from it on, the same value.
    const bool has_line_end = n >= whole.size() - 3;
    EXPECT_EQ(found, has_line_end ? std::optional<std::string>("abc@def") : std::nullopt) << n;
  }
}

}  // namespace
}  // namespace vsd::fwd
