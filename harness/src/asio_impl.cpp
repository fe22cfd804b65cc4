// Asio's separately compiled implementation: built once here, so that no other
// translation unit of the workbook compiles it again
// (BOOST_ASIO_SEPARATE_COMPILATION is set for every target).
#include <boost/asio/impl/src.hpp>
