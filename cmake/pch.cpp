// Compiles the shared precompiled header (see Workbook.cmake).
