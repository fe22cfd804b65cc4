// Concepts for executor wrappers (TimedExecutor, BlockingPoolExecutor) that pass
// Asio's property queries and requirements through to the executor they wrap.
#pragma once

#include <boost/asio/query.hpp>
#include <boost/asio/require.hpp>

namespace workbook::detail {

/// Property `P` can be queried from executor `E`.
template <typename P, typename E>
concept QueryableOn = boost::asio::can_query<const E&, P>::value;

/// Property `P` can be required of executor `E`.
template <typename P, typename E>
concept RequirableOn = boost::asio::can_require<const E&, P>::value;

}  // namespace workbook::detail
