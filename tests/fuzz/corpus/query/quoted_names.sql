select * from "notes" where "Title" = $2 and rank != NULL order by score nulls first, title desc
