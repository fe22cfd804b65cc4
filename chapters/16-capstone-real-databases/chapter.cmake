# Chapter 16 runs its notes service on a backend chosen by name: the mock, SQLite, PostgreSQL
# (workbook_backends: each real one where its Debian package was found).
list(APPEND CHAPTER_LIBRARIES workbook_backends)
