"""fs/: the file side of sockets: struct file and the fd table (file.py), poll/select
(select.py) and epoll (eventpoll.py)."""
