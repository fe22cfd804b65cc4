SELECT * FROM notes WHERE rank = $2 ORDER BY title
