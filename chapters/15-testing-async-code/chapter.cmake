# Chapter 15's exercise is a set of GoogleTest checks (EXPECT_/ASSERT_), run by
# the chapter's runner (runner.cpp, which captures their failures with
# gtest-spi.h) in the test, the demo and the benchmark alike.
list(APPEND CHAPTER_LIBRARIES GTest::gtest)
